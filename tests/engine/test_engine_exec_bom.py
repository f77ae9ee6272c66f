"""The BOM check at completion: wrong part, expired, on hold, not enough, serial reused."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import CRIMP_DATA, CUT_DATA, Line, line  # noqa: F401

from engine.commands import materials
from engine.commands.bom import ConsumptionInput
from engine.errors import DomainError, Invalid, NotFound


def _crimp_with(line: Line, unit: str, *consume: ConsumptionInput) -> None:
    line.engine.complete_operation(
        actor=line.operator, item=unit, operation="crimp", data=CRIMP_DATA, consume=list(consume)
    )


@pytest.fixture
def at_crimp(line: Line) -> str:
    (unit,) = line.release(1)
    line.cut(unit)
    line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    return unit


def _receive(line: Line, part: str, number: str, quantity: float, **kw: object) -> None:
    with line.engine.db.transaction() as session:
        materials.receive_lot(session, line.plant, part, number, quantity, actor="setup", **kw)  # type: ignore[arg-type]


def _refused(line: Line, unit: str, *consume: ConsumptionInput) -> str:
    with pytest.raises(DomainError) as refused:
        _crimp_with(line, unit, *consume)
    return refused.value.message


def test_wrong_part_and_missing_component(line: Line, at_crimp: str) -> None:
    assert _refused(line, at_crimp, ConsumptionInput("TERM-22", "W-001")) == (
        "Lot 'W-001' is a lot of WIRE-18-RD, not TERM-22; scan a lot of TERM-22."
    )
    assert _refused(line, at_crimp, ConsumptionInput("TERM-23", "T-001")) == (
        "'crimp' does not consume TERM-23; did you mean 'TERM-22'?."
    )
    assert _refused(line, at_crimp) == "'crimp' consumes 2 pcs of TERM-22; scan a lot of TERM-22."
    with pytest.raises(NotFound):
        _crimp_with(line, at_crimp, ConsumptionInput("TERM-22", "T-404"))


def test_expired_on_hold_and_insufficient_lots(line: Line, at_crimp: str) -> None:
    _receive(line, "TERM-22", "T-OLD", 100.0, expires_on=dt.date(2020, 1, 1))
    assert _refused(line, at_crimp, ConsumptionInput("TERM-22", "T-OLD")) == (
        "Lot 'T-OLD' of part 'TERM-22' expired on 2020-01-01; use another lot."
    )
    _receive(line, "TERM-22", "T-HOLD", 100.0)
    with line.engine.db.transaction() as session:
        materials.hold_lot(session, "TERM-22", "T-HOLD", actor="quinn", reason="plating check")
    assert _refused(line, at_crimp, ConsumptionInput("TERM-22", "T-HOLD")) == (
        "Lot 'T-HOLD' of part 'TERM-22' is on hold (reason: plating check); use another lot, or "
        "ask quality to release it."
    )
    _receive(line, "TERM-22", "T-LOW", 1.0)
    assert _refused(line, at_crimp, ConsumptionInput("TERM-22", "T-LOW")) == (
        "Lot 'T-LOW' of part 'TERM-22' has only 1 pcs left, 2 pcs needed; use another lot for "
        "the rest."
    )


def test_split_across_two_lots_needs_quantities_that_add_up(line: Line, at_crimp: str) -> None:
    _receive(line, "TERM-22", "T-LOW", 1.0)
    both = (ConsumptionInput("TERM-22", "T-LOW", 1.0), ConsumptionInput("TERM-22", "T-001", 2.0))
    with pytest.raises(Invalid) as wrong_total:
        _crimp_with(line, at_crimp, *both)
    assert wrong_total.value.message == (
        "TERM-22: 3 pcs taken, but 'crimp' consumes 2 pcs; correct the quantity."
    )
    _crimp_with(
        line,
        at_crimp,
        ConsumptionInput("TERM-22", "T-LOW", 1.0),
        ConsumptionInput("TERM-22", "T-001", 1.0),
    )
    with line.engine.db.session() as session:
        low = materials.find_lot(session, "TERM-22", "T-LOW")
        main = materials.find_lot(session, "TERM-22", "T-001")
    assert (low.quantity, low.status) == (0.0, "consumed")
    assert main.quantity == 999.0


def test_tolerance_allows_a_weighed_quantity(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    result = line.engine.complete_operation(
        actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
        consume=[ConsumptionInput("WIRE-18-RD", "W-001", 0.505)],
    )  # fmt: skip
    assert result.route == "next"
    (unit2,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit2, operation="cut")
    with pytest.raises(Invalid) as outside:
        line.engine.complete_operation(
            actor=line.operator, item=unit2, operation="cut", data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001", 0.52)],
        )  # fmt: skip
    assert outside.value.message == (
        "WIRE-18-RD: 0.52 m taken, but 'cut' consumes 0.5 m ± 2 %; correct the quantity."
    )


def test_one_lot_weighed_twice_can_give_no_more_than_it_holds(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    _receive(line, "WIRE-18-RD", "W-LOW", 0.4)
    twice = [
        ConsumptionInput("WIRE-18-RD", "W-LOW", 0.3),
        ConsumptionInput("WIRE-18-RD", "W-LOW", 0.2),
    ]
    with pytest.raises(Invalid) as short:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA, consume=twice
        )
    assert short.value.message == (
        "Lot 'W-LOW' of part 'WIRE-18-RD' has only 0.1 m left, 0.2 m needed; use another lot "
        "for the rest."
    )
    with line.engine.db.session() as session:
        assert materials.find_lot(session, "WIRE-18-RD", "W-LOW").quantity == 0.4
