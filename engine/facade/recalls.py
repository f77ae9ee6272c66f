"""The recall facade: hold a supplier's recalled lot as received, every lot split or merged from
it, and everything made from it (forward genealogy), in one transaction (see
:func:`engine.commands.bulk_hold.hold_recall`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from engine.commands import bulk_hold
from engine.commands.bulk_hold import RecallHold
from engine.infra.db import Database
from engine.infra.idempotency import run_once_in
from engine.infra.limits import check_names, check_texts
from engine.queries import genealogy
from engine.records.base import utcnow

Clock = Callable[[], dt.datetime]


class Recalls:
    """Recalls of received supplier lots in one database."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or utcnow

    def hold_supplier_lots(
        self,
        *,
        actor: str,
        reason: str,
        supplier_lot: str = "",
        lot_ids: Sequence[int] = (),
        idempotency_key: str | None = None,
    ) -> RecallHold:
        """Hold the lots received with the supplier's lot number ``supplier_lot`` and those with
        an id in ``lot_ids``, the lots split or merged from them, and what was made from them."""
        check_names(actor=actor, supplier_lot=supplier_lot)
        check_texts(reason=reason)
        source = f"supplier lot {supplier_lot.strip()}" if supplier_lot.strip() else "lot list"
        now = self.clock()

        def hold(session: Session) -> RecallHold:
            lots = bulk_hold.recalled_lots(session, supplier_lot=supplier_lot, lot_ids=lot_ids)
            made = [
                used.number
                for lot in lots
                for used in genealogy.forward(session, lot.part, lot.number)
            ]
            return bulk_hold.hold_recall(
                session, lots=lots, made=made, actor=actor, reason=reason, now=now, source=source
            )

        request = {"actor": actor, "supplier_lot": supplier_lot, "lots": list(lot_ids),
                   "reason": reason}  # fmt: skip
        return run_once_in(
            self.db, idempotency_key, "hold_recall", request, hold, load=RecallHold.from_json
        )
