"""The maintenance-orders facade: opening the orders that are due, listing, starting and
cancelling them (recording the maintenance closes one, see :class:`~engine.facade.equipment.
EquipmentCare`). The work is done in :mod:`engine.commands.maintenance_orders`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.commands import maintenance_orders as commands
from engine.commands import versions
from engine.commands.maintenance_orders import MaintenanceOrderInfo
from engine.facade.production import Ferrule
from engine.floor import usage
from engine.floor.tagsource import TagValue
from engine.infra.limits import check_names, check_texts


class MaintenanceOrders(Ferrule):
    """Preventive maintenance orders, over the production facade's plumbing."""

    def counter_readings(self, plant: Plant) -> Mapping[str, TagValue]:
        """The live values of the plant's usage counter tags."""
        keys = usage.counter_tags(plant)
        return self.runtime.tags.read(keys) if keys else {}

    def open_due_orders(self) -> list[MaintenanceOrderInfo]:
        """Open the orders that are due (see :func:`engine.commands.maintenance_orders.
        open_due_orders`); cheap and idempotent, the orders opened."""
        with self.db.transaction() as session:
            _, plant = versions.active_plant(session)
            readings = self.counter_readings(plant)
            return commands.open_due_orders(session, plant, readings, self.clock())

    def maintenance_orders(
        self, *, status: str = "", equipment: str = "", limit: int = commands.PAGE
    ) -> list[MaintenanceOrderInfo]:
        """See :func:`engine.commands.maintenance_orders.orders`."""
        check_names(status=status, equipment=equipment)
        with self.db.session() as session:
            return commands.orders(session, status=status, equipment=equipment, limit=limit)

    def maintenance_order(self, number: str) -> MaintenanceOrderInfo:
        check_names(number=number)
        with self.db.session() as session:
            return commands.order(session, number)

    def start_maintenance_order(
        self, *, actor: str, number: str, idempotency_key: str | None = None
    ) -> MaintenanceOrderInfo:
        """Mark an open order in progress."""
        check_names(actor=actor, number=number)

        def start(session: Session, now: dt.datetime) -> MaintenanceOrderInfo:
            return commands.start_order(session, number=number, actor=actor, now=now)

        return self.commands.run(
            "start_maintenance_order", {"actor": actor, "number": number}, idempotency_key,
            start, MaintenanceOrderInfo.from_json,
        )  # fmt: skip

    def cancel_maintenance_order(
        self, *, actor: str, number: str, reason: str, idempotency_key: str | None = None
    ) -> MaintenanceOrderInfo:
        """Cancel an open or in-progress order, with a reason."""
        check_names(actor=actor, number=number)
        check_texts(reason=reason)

        def cancel(session: Session, now: dt.datetime) -> MaintenanceOrderInfo:
            return commands.cancel_order(
                session, number=number, actor=actor, reason=reason, now=now
            )

        return self.commands.run(
            "cancel_maintenance_order",
            {"actor": actor, "number": number, "reason": reason},
            idempotency_key, cancel, MaintenanceOrderInfo.from_json,
        )  # fmt: skip
