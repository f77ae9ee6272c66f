"""The ERP facade: production orders in (B2MML or JSON), B2MML out (performance, lots).

An import reads the document first (no session open), then makes every work order in one
transaction, or refuses the document whole (:class:`~engine.floor.b2mml.DocumentRefused`, with
every problem). Importing the same orders again returns their work orders. See docs/erp.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from engine.commands import erp_import, versions
from engine.commands.erp_import import ImportResult
from engine.floor import b2mml
from engine.floor.b2mml import OrderDocument
from engine.floor.runtime import Runtime
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.infra.limits import check_names
from engine.queries import erp_export
from engine.records.base import utcnow

Clock = Callable[[], dt.datetime]


class Erp:
    """The ERP connection over one database (no devices: imports read no tags)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.runtime = Runtime(versions.plant_for_version, StaticTagSource())
        self.clock: Clock = clock or utcnow

    def _import(self, document: OrderDocument, actor: str, source: str) -> ImportResult:
        check_names(actor=actor, source=source)
        now = self.clock()
        with self.db.transaction() as session:
            return erp_import.import_orders(
                session, self.runtime, document, actor=actor, source=source, now=now
            )

    def import_b2mml(self, data: bytes, *, actor: str, source: str = "") -> ImportResult:
        """Import a B2MML ``ProductionSchedule`` or ``ProductionRequest`` (``source`` names
        where it came from, e.g. a file name, in messages and the audit trail)."""
        return self._import(b2mml.orders_from_xml(data), actor, source)

    def import_json(self, data: Mapping[str, Any], *, actor: str, source: str = "") -> ImportResult:
        """Import the same orders written as JSON (:func:`engine.floor.b2mml.orders_from_json`)."""
        return self._import(b2mml.orders_from_json(data), actor, source)

    def performance_xml(self, work_order: str) -> str:
        """The B2MML ``ProductionPerformance`` of one work order, as of now."""
        check_names(work_order=work_order)
        with self.db.session() as session:
            _, version = erp_export.work_order_version(session, work_order)
            plant = versions.plant_for_version(session, version)
            response = erp_export.production_response(session, plant, work_order)
        return b2mml.render_performance(f"{work_order}-performance", self.clock(), [response])

    def material_lot_xml(self, lot: str, *, part: str | None = None) -> str:
        """The B2MML ``MaterialLot`` of a received lot or a lot made here."""
        check_names(lot=lot, part=part)
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            found = erp_export.material_lot(session, plant, lot, part)
        return b2mml.render_material_lot(found)
