"""A kit's reservations bind consumption: another work order cannot consume what a kit keeps,
consuming for the kit's own order draws its reservation down, and first-expiry-first-out
passes over lots kept for other orders."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import CUT_DATA, Line, line
from material_support import CLERK, TODAY, assert_trail_intact, clerk, receive, redeploy, stores
from sqlalchemy import select

from dsl.model import Plant
from engine.commands.bom import ConsumptionInput
from engine.commands.lots import FefoLot
from engine.errors import Invalid
from engine.facade.materials import Materials
from engine.infra.db import Database
from engine.records.tables import LotReservation

__all__ = ["clerk", "line", "stores"]  # fixtures

SOON = TODAY + dt.timedelta(days=100)
WIRE = "WIRE-18-RD"


def _order(line: Line, number: str, quantity: int) -> str:
    line.engine.create_work_order(
        actor=line.supervisor, product="HA-100", quantity=quantity, number=number
    )
    return number


def _released_unit(line: Line, number: str) -> str:
    unit = line.engine.release_work_order(actor=line.supervisor, number=number).items[0]
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    return unit


def _cut(line: Line, unit: str, lot: str) -> None:
    line.engine.complete_operation(
        actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
        consume=[ConsumptionInput(WIRE, lot)],
    )  # fmt: skip


def _reservations_of(db: Database, stores: Materials, lot: str) -> list[tuple[float, bool]]:
    lot_id = stores.lot(WIRE, lot).lot.id
    with db.session() as session:
        rows = session.scalars(select(LotReservation).where(LotReservation.lot_id == lot_id))
        return [(r.quantity, r.active) for r in rows]


def test_a_lot_kept_for_one_order_is_refused_to_another_and_drawn_down_by_its_own(
    db: Database, plant: Plant, stores: Materials, line: Line
) -> None:
    redeploy(db, plant, "fefo: propose", "fefo: strict")
    receive(stores, WIRE, "W-SOON", 4, expires_on=SOON, location="stores")
    kitted = _order(line, "WO-A", 8)  # needs 4 m of wire: all of W-SOON
    wire = stores.reserve_kit(actor=CLERK, work_order=kitted).lines[0]
    assert [(lot.number, lot.quantity) for lot in wire.lots] == [("W-SOON", 4)]
    other = _released_unit(line, _order(line, "WO-B", 1))

    with pytest.raises(Invalid) as refused:
        _cut(line, other, "W-SOON")
    assert refused.value.message == (
        "Lot 'W-SOON' of part 'WIRE-18-RD' is reserved for work order 'WO-A' (4 of its 4 m); "
        "0 m are free, 0.5 m needed. Scan a lot kitted for this work order or a free one, or "
        "ask stores to give back that kit."
    )
    # Strict FEFO passes over the kept lot: the never-expiring W-001 is the first one free.
    assert stores.proposals([WIRE]) == {WIRE: FefoLot("W-001", None)}
    assert stores.proposals([WIRE], "WO-A") == {WIRE: FefoLot("W-SOON", SOON)}
    _cut(line, other, "W-001")

    own = _released_unit(line, kitted)
    _cut(line, own, "W-SOON")
    assert stores.lot(WIRE, "W-SOON").lot.quantity == 3.5
    assert stores.kit(kitted).lines[0].reserved == 3.5
    assert _reservations_of(db, stores, "W-SOON") == [(3.5, True)]
    assert_trail_intact(db)


def test_only_what_a_kit_keeps_is_refused_and_a_used_up_reservation_is_closed(
    db: Database, stores: Materials, line: Line
) -> None:
    receive(stores, WIRE, "W-BIG", 5, expires_on=SOON, location="stores")
    kitted = _order(line, "WO-A", 1)  # keeps 0.5 m of W-BIG; 4.5 m stay free
    stores.reserve_kit(actor=CLERK, work_order=kitted)
    other = _released_unit(line, _order(line, "WO-B", 1))
    _cut(line, other, "W-BIG")
    assert stores.lot(WIRE, "W-BIG").lot.quantity == 4.5

    own = _released_unit(line, kitted)
    _cut(line, own, "W-BIG")
    kit = stores.kit(kitted)
    assert (kit.lines[0].reserved, kit.lines[0].lots) == (0, ())
    assert _reservations_of(db, stores, "W-BIG") == [(0.5, False)]
    assert_trail_intact(db)
