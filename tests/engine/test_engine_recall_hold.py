"""A recall of a supplier's lot holds the lots received under it, every lot split from them, and
every unit made from them (forward genealogy), in one transaction."""

from __future__ import annotations

import pytest
from engine_exec_support import CUT_DATA, Line, line
from material_support import NOW, assert_trail_intact, clerk, receive, stores

from engine.commands.bom import ConsumptionInput
from engine.commands.bulk_hold import RecalledLot
from engine.errors import Forbidden, NotFound
from engine.facade.materials import Materials
from engine.facade.recalls import Recalls
from engine.infra.db import Database

__all__ = ["clerk", "line", "stores"]  # fixtures

WIRE = "WIRE-18-RD"


def _recalled_stock(stores: Materials, line: Line) -> tuple[str, int]:
    """Supplier lot S-77 received as wire W-R1 (split into W-R1-B, cut into a unit) and as
    terminals T-R (still in quarantine); the unit's number and W-R1's id."""
    first = receive(stores, WIRE, "S-77", 10, number="W-R1", location="stores")
    receive(stores, "TERM-22", "S-77", 100, number="T-R")
    receive(stores, WIRE, "S-12", 10, number="W-OTHER", location="stores")
    stores.split(
        actor="gina", part=WIRE, lot="W-R1", quantity=4, new_number="W-R1-B", reason="to line"
    )
    (unit,) = line.release()
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    line.engine.complete_operation(
        actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
        consume=[ConsumptionInput(WIRE, "W-R1")],
    )  # fmt: skip
    return unit, first.id


def test_a_supplier_lot_recall_holds_its_lots_their_splits_and_what_was_made_from_them(
    db: Database, stores: Materials, line: Line
) -> None:
    unit, _ = _recalled_stock(stores, line)
    recalls = Recalls(db, clock=lambda: NOW)
    with pytest.raises(Forbidden):
        recalls.hold_supplier_lots(actor=line.operator, supplier_lot="S-77", reason="recall")
    result = recalls.hold_supplier_lots(
        actor=line.quality, supplier_lot="S-77", reason="Supplier recall R-2026-4"
    )
    assert result.lots == (RecalledLot(WIRE, "W-R1"), RecalledLot(WIRE, "W-R1-B"))
    assert result.skipped_lots == (
        RecalledLot(
            "TERM-22", "T-R",
            "Lot 'T-R' of part 'TERM-22' is in quarantine; only an available lot can be put on "
            "hold.",
        ),
    )  # fmt: skip
    assert (result.made.held, result.made.skipped, result.made.remaining) == ((unit,), (), 0)
    assert stores.lot(WIRE, "W-R1-B").lot.hold_reason == "Supplier recall R-2026-4"
    assert stores.lot(WIRE, "W-OTHER").status == "available"
    assert line.engine.item(unit).status == "on_hold"
    assert_trail_intact(db)


def test_a_recall_by_lot_id_and_of_an_unknown_supplier_lot(
    db: Database, stores: Materials, line: Line
) -> None:
    unit, lot_id = _recalled_stock(stores, line)
    recalls = Recalls(db, clock=lambda: NOW)
    with pytest.raises(NotFound) as unknown:
        recalls.hold_supplier_lots(actor=line.quality, supplier_lot="S-99", reason="recall")
    assert unknown.value.message == (
        "No lot was received with the supplier's lot number 'S-99'; check the number on the "
        "supplier's notice."
    )
    result = recalls.hold_supplier_lots(actor=line.quality, lot_ids=[lot_id], reason="recall")
    assert [lot.number for lot in result.lots] == ["W-R1", "W-R1-B"]
    assert result.made.held == (unit,)
    assert stores.lot("TERM-22", "T-R").status == "quarantine"
