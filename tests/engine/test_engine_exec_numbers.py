"""Numbers the engine accepts: finite values only, and quantities taken or received above zero."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import math

import pytest
from engine_exec_support import CUT_DATA, Line, line  # noqa: F401

from engine.commands import materials
from engine.commands.bom import ConsumptionInput
from engine.errors import Invalid


def _at_cut(line: Line) -> str:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    return unit


def _wire_left(line: Line) -> float:
    with line.engine.db.session() as session:
        return materials.find_lot(session, "WIRE-18-RD", "W-001").quantity


@pytest.mark.parametrize(
    ("taken", "shown"),
    [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (-0.5, "-0.5"), (0.0, "0")],
)
def test_a_consumed_quantity_must_be_a_finite_number_above_zero(
    line: Line, taken: float, shown: str
) -> None:
    unit = _at_cut(line)
    with pytest.raises(Invalid) as refused:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001", taken)],
        )  # fmt: skip
    assert refused.value.message == (
        f"WIRE-18-RD: the quantity taken from lot 'W-001' must be a number more than 0 m; "
        f"got {shown}."
    )
    assert refused.value.field == "consume"
    assert _wire_left(line) == 100.0
    assert line.engine.item(unit).current_operation == "cut"


def test_a_scanned_component_is_checked_the_same_way(line: Line) -> None:
    (unit,) = line.release(1)
    with pytest.raises(Invalid) as refused:
        line.engine.check_component(
            item=unit, scanned=ConsumptionInput("WIRE-18-RD", "W-001", math.nan)
        )
    assert refused.value.message == (
        "WIRE-18-RD: the quantity taken from lot 'W-001' must be a number more than 0 m; got nan."
    )


def test_a_negative_quantity_split_across_lots_never_adds_to_a_lot(line: Line) -> None:
    """Two scans whose quantities add up to the routing's: one of them negative."""
    unit = _at_cut(line)
    with line.engine.db.transaction() as session:
        materials.receive_lot(session, line.plant, "WIRE-18-RD", "W-002", 10.0, actor="setup")
    with pytest.raises(Invalid) as refused:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
            consume=[
                ConsumptionInput("WIRE-18-RD", "W-001", 0.585),
                ConsumptionInput("WIRE-18-RD", "W-002", -0.085),
            ],
        )  # fmt: skip
    assert refused.value.message == (
        "WIRE-18-RD: the quantity taken from lot 'W-002' must be a number more than 0 m; "
        "got -0.085."
    )
    with line.engine.db.session() as session:
        assert materials.find_lot(session, "WIRE-18-RD", "W-002").quantity == 10.0
    assert _wire_left(line) == 100.0


@pytest.mark.parametrize("value", [math.nan, math.inf, "NaN", "-Infinity"])
def test_an_entered_number_must_be_finite(line: Line, value: float | str) -> None:
    unit = _at_cut(line)
    with pytest.raises(Invalid) as refused:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut",
            data={**CUT_DATA, "length": value},
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )  # fmt: skip
    assert refused.value.message == f"length: '{value}' is not a finite number"
    assert refused.value.field == "length"


@pytest.mark.parametrize(("quantity", "shown"), [(math.inf, "inf"), (math.nan, "nan")])
def test_received_and_ordered_quantities_must_be_finite(
    line: Line, quantity: float, shown: str
) -> None:
    with pytest.raises(Invalid) as received:
        line.engine.receive_lot(actor="setup", part="TERM-22", lot="T-9", quantity=quantity)
    assert received.value.message == (
        f"Received quantity must be a number more than 0 pcs; got {shown}."
    )
    with pytest.raises(Invalid) as ordered:
        line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=quantity)
    assert ordered.value.message == f"The quantity must be a number more than 0; got {shown}."


def test_consume_refuses_what_would_add_to_a_lot(line: Line) -> None:
    with line.engine.db.transaction() as session:
        lot = materials.find_lot(session, "TERM-22", "T-001")
        for bad, shown in ((-85.0, "-85"), (math.nan, "nan")):
            with pytest.raises(Invalid) as refused:
                materials.consume(session, lot.id, bad, actor=line.operator)
            assert refused.value.message == (
                f"The quantity to consume must be a number more than 0 pcs; got {shown}."
            )
    with line.engine.db.session() as session:
        assert materials.find_lot(session, "TERM-22", "T-001").quantity == 1000.0
