"""Maintenance orders: opened when a machine's maintenance is warned or due, worked, closed.

:func:`open_due_orders` is cheap and idempotent: it runs on every read of the equipment and
maintenance pages, from ``ferrule maintenance open-due`` and with the demo's periodic jobs. For
each machine whose maintenance :func:`engine.commands.maintenance.due_list` lists (within its
warning period, or due by days or by uses) it opens one order per *cycle* — the maintenance
record the due follows — so an order is never opened twice for the same due, even when it was
cancelled; recording the maintenance closes the open order (:mod:`engine.commands.maintenance`)
and starts the next cycle. Starting and cancelling need one of the care roles; :func:`orders`
lists them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.access.people import require_role
from engine.commands import care_dues
from engine.commands.calibration import CARE_ROLES
from engine.commands.maintenance import DueWork, due_list
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.tagsource import TagValue
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.equipment_care import ORDER_STATUSES, MaintenanceOrder

SYSTEM = "system"  # who opens orders: the due list, not a person
PAGE = 200  # orders a list shows


@dataclass(frozen=True, slots=True)
class MaintenanceOrderInfo(Jsonable):
    """A maintenance order as screens and the API show it."""

    number: str
    equipment: str
    status: str  # open | in_progress | done | cancelled
    due: dt.date
    reason: str
    opened_at: dt.datetime
    started_by: str
    started_at: dt.datetime | None
    closed_by: str
    closed_at: dt.datetime | None
    maintenance_id: int | None
    cancel_reason: str


def open_due_orders(
    session: Session, plant: Plant, readings: Mapping[str, TagValue], now: dt.datetime
) -> list[MaintenanceOrderInfo]:
    """Open an order for every machine whose maintenance is warned or due and has none for its
    current cycle; the orders opened (none on a second call)."""
    due = [work for work in due_list(session, plant, readings, now) if work.kind == "maintenance"]
    if not due:
        return []
    cycles = {work.equipment: _cycle(session, work.equipment) for work in due}
    have = set(
        session.execute(
            select(MaintenanceOrder.equipment, MaintenanceOrder.cycle).where(
                MaintenanceOrder.equipment.in_(list(cycles))
            )
        ).all()
    )
    opened: list[MaintenanceOrderInfo] = []
    for work in due:
        cycle = cycles[work.equipment]
        if (work.equipment, cycle) not in have:
            order = _open(session, work, cycle, now)
            if order is not None:
                opened.append(order_info(order))
    return opened


def _cycle(session: Session, equipment: str) -> int:
    latest = care_dues.latest_maintenance(session, equipment)
    return 0 if latest is None else latest.id


def _open(session: Session, work: DueWork, cycle: int, now: dt.datetime) -> MaintenanceOrder | None:
    """A new order for ``work``, or None when a concurrent call opened it first (the unique
    cycle refuses the second). Its number follows from its id, known once it is inserted."""
    order = MaintenanceOrder(
        number=f"pending-{uuid.uuid4().hex}", equipment=work.equipment, cycle=cycle,
        status="open", due=work.due, reason=_why(work), opened_at=now, opened_by=SYSTEM,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        return None
    order.number = f"MO-{order.id:05d}"
    audit.record(
        session, actor=SYSTEM, action="open", entity="maintenance_order", entity_id=order.number,
        new={"equipment": order.equipment, "due": order.due, "status": "open"},
        reason=order.reason,
    )  # fmt: skip
    return order


def _why(work: DueWork) -> str:
    if work.overdue:
        return f"Maintenance was due on {work.due}"
    if work.uses_left is not None and work.days_left > 0:
        return f"Maintenance is due on {work.due} or in {work.uses_left} uses"
    return f"Maintenance is due on {work.due}"


def start_order(
    session: Session, *, number: str, actor: str, now: dt.datetime
) -> MaintenanceOrderInfo:
    """Mark an open order in progress: ``actor`` is working on it."""
    order = _order(session, number)
    require_role(session, actor, CARE_ROLES, f"start maintenance order {number}")
    if order.status != "open":
        raise Conflict(
            f"Maintenance order {number} is {_status(order)}; only an open order can be started."
        )
    order.status = "in_progress"
    order.started_at = now
    order.started_by = actor
    audit.record(
        session, actor=actor, action="start", entity="maintenance_order", entity_id=number,
        old={"status": "open"}, new={"status": "in_progress"},
    )  # fmt: skip
    return order_info(order)


def cancel_order(
    session: Session, *, number: str, actor: str, reason: str, now: dt.datetime
) -> MaintenanceOrderInfo:
    """Cancel an open or in-progress order, with a reason; the due it was opened for gets no
    new order (the interlock still blocks once it is overdue)."""
    order = _order(session, number)
    require_role(session, actor, CARE_ROLES, f"cancel maintenance order {number}")
    if not reason.strip():
        raise Invalid("Say why the maintenance order is cancelled.", field="reason")
    if order.status not in ("open", "in_progress"):
        raise Conflict(f"Maintenance order {number} is {_status(order)} and cannot be cancelled.")
    old = {"status": order.status}
    order.status = "cancelled"
    order.closed_at = now
    order.closed_by = actor
    order.cancel_reason = reason.strip()
    audit.record(
        session, actor=actor, action="cancel", entity="maintenance_order", entity_id=number,
        old=old, new={"status": "cancelled"}, reason=order.cancel_reason,
    )  # fmt: skip
    return order_info(order)


def _order(session: Session, number: str, *, lock: bool = True) -> MaintenanceOrder:
    query = select(MaintenanceOrder).where(MaintenanceOrder.number == number)
    order = session.scalar(query.with_for_update() if lock else query)
    if order is None:
        raise NotFound(
            f"There is no maintenance order '{number}'; check the number on the maintenance "
            "orders page."
        )
    return order


def _status(order: MaintenanceOrder) -> str:
    return order.status.replace("_", " ")


def order_info(order: MaintenanceOrder) -> MaintenanceOrderInfo:
    """The order as screens and the API show it."""
    return MaintenanceOrderInfo(
        number=order.number, equipment=order.equipment, status=order.status, due=order.due,
        reason=order.reason, opened_at=order.opened_at, started_by=order.started_by,
        started_at=order.started_at, closed_by=order.closed_by, closed_at=order.closed_at,
        maintenance_id=order.maintenance_id, cancel_reason=order.cancel_reason,
    )  # fmt: skip


def orders(
    session: Session, *, status: str = "", equipment: str = "", limit: int = PAGE
) -> list[MaintenanceOrderInfo]:
    """Orders with ``status`` (any when empty; ``active`` is open or in progress) on
    ``equipment`` (any when empty), newest first."""
    query = select(MaintenanceOrder).order_by(MaintenanceOrder.id.desc()).limit(limit)
    if status == "active":
        query = query.where(MaintenanceOrder.status.in_(("open", "in_progress")))
    elif status:
        if status not in ORDER_STATUSES:
            allowed = ", ".join(("active", *ORDER_STATUSES))
            raise Invalid(f"Unknown status '{status}'; choose one of {allowed}.", field="status")
        query = query.where(MaintenanceOrder.status == status)
    if equipment:
        query = query.where(MaintenanceOrder.equipment == equipment)
    return [order_info(row) for row in session.scalars(query)]


def order(session: Session, number: str) -> MaintenanceOrderInfo:
    """One order by its number."""
    return order_info(_order(session, number, lock=False))
