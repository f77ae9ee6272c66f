"""Inventory per part, location and status with its lots; FEFO proposed and enforced; kits
reserved for a work order's bill of materials with their shortages."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import line
from material_support import (
    CLERK,
    TODAY,
    assert_trail_intact,
    clerk,
    receive,
    redeploy,
    stores,
)

from dsl.model import Plant
from engine.commands.bom import ConsumptionInput
from engine.commands.lots import FefoLot
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.materials import Materials
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.queries.inventory import StockLot, StockRow

__all__ = ["clerk", "line", "stores"]  # fixtures

SOON, LATER = TODAY + dt.timedelta(days=100), TODAY + dt.timedelta(days=300)


def _stock(stores: Materials) -> None:
    receive(stores, "WIRE-18-RD", "W-LATE", 3, expires_on=LATER, location="stores")
    receive(stores, "WIRE-18-RD", "W-SOON", 4, expires_on=SOON, location="stores")
    receive(stores, "WIRE-18-RD", "W-LINE", 2, location="line-1")
    receive(stores, "TERM-22", "T-Q", 500)  # quarantined: not usable
    receive(stores, "HOUSING-4P", "H-1", 6, supplier="Molex")


def test_inventory_sums_lots_by_part_location_and_status(stores: Materials) -> None:
    _stock(stores)
    stores.change_status(actor="sam", action="hold", part="HOUSING-4P", lot="H-1", reason="check")
    rows = stores.inventory()
    assert [(r.part, r.location, r.status, r.quantity) for r in rows] == [
        ("HOUSING-4P", "goods-in", "on_hold", 6),
        ("TERM-22", "goods-in", "quarantine", 500),
        ("WIRE-18-RD", "line-1", "available", 2),
        ("WIRE-18-RD", "stores", "available", 7),
    ]
    assert [lot.number for lot in rows[-1].lots] == ["W-SOON", "W-LATE"]
    assert rows[0] == StockRow(
        "HOUSING-4P", "goods-in", "on_hold", 6, "pcs", 0,
        (StockLot("H-1", 6, 0, None, "Molex", "H-1", "check"),),
    )  # fmt: skip
    assert [r.location for r in stores.inventory(part="WIRE-18-RD", location="line-1")] == [
        "line-1"
    ]
    assert stores.inventory(statuses=("quarantine",))[0].part == "TERM-22"


def test_fefo_is_proposed_and_under_strict_fefo_a_later_lot_is_refused(
    db: Database, plant: Plant, stores: Materials, line: object
) -> None:
    # The line fixture's wire W-001 never expires: it is proposed only while it is alone.
    assert stores.proposals(["WIRE-18-RD"]) == {"WIRE-18-RD": FefoLot("W-001", None)}
    _stock(stores)
    proposed = stores.proposals(["WIRE-18-RD", "TERM-22", "NO-SUCH-PART"])
    assert proposed["WIRE-18-RD"] == FefoLot("W-SOON", SOON)
    assert (sorted(proposed), proposed["TERM-22"].number) == (["TERM-22", "WIRE-18-RD"], "T-001")
    engine = line.engine  # type: ignore[attr-defined]
    (proposing,) = line.release()  # type: ignore[attr-defined]
    engine.start_operation(actor="olga", item=proposing, operation="cut")
    late = ConsumptionInput("WIRE-18-RD", "W-LATE")
    assert engine.check_component(item=proposing, scanned=late).number == "W-LATE"
    # A unit follows the config it was released under: strict FEFO binds units released after.
    redeploy(db, plant, "fefo: propose", "fefo: strict")
    (unit,) = line.release()  # type: ignore[attr-defined]
    engine.start_operation(actor="olga", item=unit, operation="cut")
    assert engine.check_component(item=proposing, scanned=late).number == "W-LATE"
    with pytest.raises(Invalid) as later:
        engine.check_component(item=unit, scanned=ConsumptionInput("WIRE-18-RD", "W-LATE"))
    message = (
        "First expiry, first out: lot 'W-SOON' of WIRE-18-RD expires on 2027-02-11, before lot "
        "'W-LATE' (expires on 2027-08-30); consume lot 'W-SOON' first."
    )
    assert later.value.message == message
    assert engine.check_component(item=unit, scanned=ConsumptionInput("WIRE-18-RD", "W-SOON"))
    with pytest.raises(Invalid) as completing:
        engine.complete_operation(
            actor="olga", item=unit, operation="cut",
            data={"length": 500.0, "strip_length": 7.0},
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )  # fmt: skip
    assert completing.value.message == message.replace("W-LATE", "W-001").replace(
        "expires on 2027-08-30", "does not expire"
    )


def test_a_kit_reserves_first_expiring_lots_and_shows_what_is_short(
    db: Database, stores: Materials, users: object
) -> None:
    _stock(stores)
    with pytest.raises(Forbidden) as operator:
        stores.reserve_kit(actor="olga", work_order="WO-1")
    assert operator.value.message == (
        "User 'olga' may not reserve a kit: that needs the role 'stores' or 'supervisor'; ask "
        "an admin to grant it."
    )
    from_erp = line_order(db, quantity=10)
    before = stores.kit(from_erp)
    assert [(k.part, k.needed, k.reserved, k.free, k.short) for k in before.lines] == [
        ("WIRE-18-RD", 5, 0, 9, 0),
        ("TERM-22", 20, 0, 0, 20),
        ("HOUSING-4P", 10, 0, 6, 4),
    ]
    assert (before.complete, before.short) == (False, True)
    kit = stores.reserve_kit(actor=CLERK, work_order=from_erp)
    wire, term, housing = kit.lines
    assert [(lot.number, lot.quantity) for lot in wire.lots] == [("W-SOON", 4), ("W-LATE", 1)]
    assert (wire.reserved, wire.free, wire.short) == (5, 4, 0)
    assert (term.reserved, term.short, housing.reserved, housing.short) == (0, 20, 6, 4)
    again = stores.reserve_kit(actor=CLERK, work_order=from_erp)
    assert again.lines == kit.lines  # nothing more to take
    stock = {r.location: r for r in stores.inventory(part="WIRE-18-RD")}
    assert (stock["stores"].reserved, stock["line-1"].reserved) == (5, 0)
    given_back = stores.unreserve_kit(actor=CLERK, work_order=from_erp)
    assert [line.reserved for line in given_back.lines] == [0, 0, 0]
    with pytest.raises(Conflict) as done:
        stores.reserve_kit(actor=CLERK, work_order=cancelled_order(db))
    assert done.value.message == (
        "Work order 'WO-X' is cancelled; only a created or released order is kitted."
    )
    assert_trail_intact(db)


def line_order(db: Database, *, quantity: int) -> str:
    """A created HA-100 work order's number."""
    return _ferrule(db).create_work_order(actor="sam", product="HA-100", quantity=quantity).number


def cancelled_order(db: Database) -> str:
    engine = _ferrule(db)
    engine.create_work_order(actor="sam", product="HA-100", quantity=1, number="WO-X")
    engine.cancel_work_order(actor="sam", number="WO-X", reason="ERP cancelled it")
    return "WO-X"


def _ferrule(db: Database) -> Ferrule:
    return Ferrule(db, StaticTagSource({}))
