"""Text limits: the same on SQLite and PostgreSQL, enforced before the database sees the text."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import pytest
from engine_exec_support import CUT_DATA, Line, line  # noqa: F401

from engine.commands.bom import ConsumptionInput
from engine.errors import Invalid
from engine.floor.validation import InvalidData


def test_a_number_of_200_characters_is_kept_and_201_are_refused(line: Line) -> None:
    kept = line.engine.create_work_order(
        actor=line.supervisor, product="HA-100", quantity=1, number="W" * 200
    )
    assert kept.number == "W" * 200
    with pytest.raises(Invalid) as refused:
        line.engine.create_work_order(
            actor=line.supervisor, product="HA-100", quantity=1, number="W" * 201
        )
    assert refused.value.message == "The number is 201 characters long; at most 200 are allowed."
    assert refused.value.field == "number"
    assert [o.number for o in line.engine.work_orders()] == ["W" * 200]


def test_a_reason_longer_than_2000_characters_is_refused_not_echoed(line: Line) -> None:
    (unit,) = line.release(1)
    with pytest.raises(Invalid) as refused:
        line.engine.hold(actor=line.supervisor, item=unit, reason="x" * 5_000_000)
    assert refused.value.message == (
        "The reason is 5,000,000 characters long; at most 2,000 are allowed."
    )
    assert line.engine.item(unit).status == "queued"
    held = line.engine.hold(actor=line.supervisor, item=unit, reason="r" * 2000)
    assert held.status == "on_hold"


def test_nul_and_other_control_characters_are_refused(line: Line) -> None:
    with pytest.raises(Invalid) as in_number:
        line.engine.create_work_order(
            actor=line.supervisor, product="HA-100", quantity=1, number="WO\x001"
        )
    assert in_number.value.message == (
        "The number contains a control character (U+0000) at position 3; remove it."
    )
    (unit,) = line.release(1)
    with pytest.raises(Invalid) as in_lookup:
        line.engine.item(unit + "\x00")
    assert in_lookup.value.message == (
        "The number contains a control character (U+0000) at position 13; remove it."
    )
    with pytest.raises(Invalid) as bell:
        line.engine.hold(actor=line.supervisor, item=unit, reason="bad\x07crimp")
    assert bell.value.message == (
        "The reason contains a control character (U+0007) at position 4; remove it."
    )
    with pytest.raises(Invalid) as surrogate:
        line.engine.open_nonconformance(
            actor=line.operator, item=unit, defect_code="D1", description="cut \ud800 short"
        )
    assert surrogate.value.message == (
        "The description contains an unpaired surrogate (U+D800) at position 5, which is not "
        "text; send valid UTF-8."
    )
    with pytest.raises(Invalid) as newline_in_name:
        line.engine.open_nonconformance(
            actor=line.operator, item=unit, defect_code="D\n1", description="x"
        )
    assert newline_in_name.value.message == (
        "The defect code contains a control character (U+000A) at position 2; remove it."
    )


def test_newlines_and_tabs_are_kept_in_reasons(line: Line) -> None:
    (unit,) = line.release(1)
    held = line.engine.hold(actor=line.supervisor, item=unit, reason="wire nicked\n\tat 12 cm")
    assert held.message == f"Unit {unit} is on hold: wire nicked\n\tat 12 cm."


def test_entered_text_and_scanned_numbers_are_checked_too(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    with pytest.raises(Invalid) as scanned:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-0\x0001")],
        )  # fmt: skip
    assert scanned.value.message == (
        "The lot contains a control character (U+0000) at position 4; remove it."
    )
    line.cut(line.release(1)[0])
    (other,) = line.release(1)
    line.cut(other)
    line.engine.start_operation(actor=line.operator, item=other, operation="crimp")
    with pytest.raises(InvalidData) as entered:
        line.engine.complete_operation(
            actor=line.operator, item=other, operation="crimp",
            data={"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok\x00"},
            consume=[ConsumptionInput("TERM-22", "T-001")],
        )  # fmt: skip
    assert entered.value.message == (
        "visual: the value contains a control character (U+0000) at position 3; remove it"
    )
