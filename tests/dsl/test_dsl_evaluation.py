"""Evaluating compiled rules: three-valued outcomes, short-circuit, dates, values, explanations."""

from __future__ import annotations

from typing import Any

import pytest
from expression_helpers import GATE_SCOPE, compiled, day, environment, instant

from dsl.expressions import Expect
from dsl.rules import CheckResult, Outcome, Reading, Reference, Unavailable

P, F, U = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN
TODAY = day("2026-05-04")
WINDOW = "press1.pressure between 60 bar and 80 bar"


@pytest.mark.parametrize(
    ("source", "values", "outcome"),
    [
        (WINDOW, {"pressure": (72.4, "bar")}, P),
        (WINDOW, {"pressure": (60, "bar")}, P),
        (WINDOW, {"pressure": (80, "bar")}, P),
        (WINDOW, {"pressure": (80.01, "bar")}, F),
        (WINDOW, {"pressure": (5.9, "MPa")}, F),
        (WINDOW, {}, U),
        ("press1.pressure > 1000 psi", {"pressure": (70, "bar")}, P),
        ("press1.pressure > 1100 psi", {"pressure": (70, "bar")}, F),
        ("not press1.fault", {"fault": False}, P),
        ("not press1.fault", {"fault": True}, F),
        ("not press1.fault", {}, U),
        ("press1.temperature < 100 °F", {"temperature": (37, "°C")}, P),
        ("press1.temperature < 98 °F", {"temperature": (37, "°C")}, F),
        ("press1.temperature > 300 K", {"temperature": (37, "°C")}, P),
        ("press1.temperature <= -12 °C", {"temperature": (-12.5, "°C")}, P),
        ("press1.temperature <= -12 °C", {"temperature": (-11.5, "°C")}, F),
        ("press1.temperature > -40 °F", {"temperature": (-39, "°C")}, P),
        ("tester.resistance < 5 mohm", {"resistance": (4.9, "mohm")}, P),
        ("tester.resistance < 5 mohm", {"resistance": (0.0051, "ohm")}, F),
        ("cnc1.tool_life > 5 %", {"tool_life": (6, "%")}, P),
        ("cnc1.tool_life > 5 %", {"tool_life": (4, "%")}, F),
        ("cnc1.spindle between 1000 rpm and 20 Hz", {"spindle": (1100, "rpm")}, P),
        ("cnc1.spindle > 0 /min", {"spindle": (0, "rpm")}, F),
        ("press1.mode == 2", {"mode": 2.0}, P),
        ("press1.mode != 2", {"mode": 2.0}, F),
        ("press1.recipe == 'A-7'", {"recipe": "A-7"}, P),
        ('visual in ["ok", "burr"]', {"visual": "burr"}, P),
        ('visual not in ["ok", "burr"]', {"visual": "burr"}, F),
        ('visual in ["ok", "burr"]', {}, U),
        ("crimp_height in [1.5 mm, 1.6 mm]", {"crimp_height": (1.6, "mm")}, P),
        ("checked", {"checked": True}, P),
        ("checked == false", {"checked": True}, F),
        # a stale or bad tag is a missing key, and so is its age; its quality stays readable
        ('press1.pressure.quality == "stale"', {"pressure_quality": "stale"}, P),
        ("press1.pressure.age < 5 s", {"pressure_quality": "bad"}, U),
        # a good tag's age
        ("press1.pressure.age < 5 s", {"pressure_age": 7.5}, F),
        ("press1.pressure.age < 5 s or press1.pressure > 1 bar", {"pressure_age": 7.5}, U),
        # left to right, short-circuit
        ("press1.fault or pull_force > 60 N", {"fault": True}, P),
        ("press1.fault or pull_force > 60 N", {"fault": False}, U),
        ("press1.fault and pull_force > 60 N", {"fault": False}, F),
        ("press1.fault and pull_force > 60 N", {"fault": True}, U),
        ("pull_force > 60 N and press1.fault", {"fault": False}, U),
        ("not (press1.fault or checked)", {"fault": True}, F),
        # arithmetic, functions; division by zero is unknown
        ("abs(pull_force - 100 N) <= 5 N", {"pull_force": (96, "N")}, P),
        ("abs(pull_force - 100 N) <= 5 N", {"pull_force": (94, "N")}, F),
        ("pull_force / crimp_height > 1 N/mm", {"pull_force": (60, "N"), "crimp_height": 0.0}, U),
        (
            "pull_force / crimp_height > 30 N/mm",
            {"pull_force": (60, "N"), "crimp_height": (1.5, "mm")},
            P,
        ),
        ("max(pull_force, 2 * 30 N) == 60 N", {"pull_force": (10, "N")}, P),
        ("min(pull_force, 0.05 kN, 70 N) == 50 N", {"pull_force": (60, "N")}, P),
        ("round(pull_force) == 60 N", {"pull_force": (60.4, "N")}, P),
        ("round(cut.length, 1) == 500.5 mm", {"length": (500.46, "mm")}, P),
        ("-pull_force < -50 N", {"pull_force": (60, "N")}, P),
        ("pull_force * 2 > 0.1 kN", {"pull_force": (60, "N")}, P),
        ("pull_force * 10 % == 6 N", {"pull_force": (60, "N")}, P),
        # operator, equipment, unit
        ('operator.qualified("crimping")', {"qualifications": frozenset({"crimping"})}, P),
        ('operator.qualified("crimping")', {"qualifications": frozenset()}, F),
        ('operator.qualified("crimping")', {}, U),
        ('operator.has_role("quality")', {"roles": frozenset({"quality"})}, P),
        ('operator.id == "ana"', {"operator_id": "ana"}, P),
        ('equipment.state != "down"', {"state": "running"}, P),
        ('equipment.name == "crimp-press-1"', {"equipment_name": "crimp-press-1"}, P),
        ("unit.rework_count < 2", {"rework_count": 2}, F),
        ('unit.serial == "HA2605-00001"', {"item_id": "HA2605-00001"}, P),
        # dates and instants
        ("equipment.calibration_due > today", {"calibration_due": TODAY, "today": TODAY}, F),
        ("equipment.calibration_due >= today", {"calibration_due": TODAY, "today": TODAY}, P),
        ("equipment.calibration_due > today", {"calibration_due": TODAY}, U),
        (
            "equipment.maintenance_due - today >= 30 d",
            {"maintenance_due": day("2026-06-03"), "today": TODAY},
            P,
        ),
        (
            "equipment.maintenance_due - today >= 31 d",
            {"maintenance_due": day("2026-06-03"), "today": TODAY},
            F,
        ),
        ("today + 30 d < 2026-06-03", {"today": TODAY}, F),
        ("today + 30 d <= 2026-06-03", {"today": TODAY}, P),
        ("today - 1 d == 2026-05-03", {"today": TODAY}, P),
        ("2026-05-03 + 24 h == today", {"today": TODAY}, P),
        ("cut.batch_date between today - 7 d and today", {"batch_date": TODAY, "today": TODAY}, P),
        ("60 kPa < 0.7 bar", {}, P),
        ("5 in < 12 cm", {}, F),
    ],
)
def test_outcome(source: str, values: dict[str, Any], outcome: Outcome) -> None:
    assert compiled(source).evaluate(environment(**values)) is outcome


def test_now_arithmetic() -> None:
    rule = compiled("now - 90 min > now - 2 h")
    assert rule.evaluate({"now": instant("2026-05-04T08:00:00+00:00")}) is P


def test_value_is_si_and_unavailable_names_the_key() -> None:
    rule = compiled("1.2 kN + pull_force * 2", expect=Expect("number", "N"))
    assert rule.value(environment(pull_force=(5, "N"))) == pytest.approx(1210.0)
    assert rule.evaluate(environment(pull_force=(5, "N"))) is P
    assert rule.evaluate({}) is U
    with pytest.raises(Unavailable) as raised:
        rule.value({})
    assert raised.value.key == "field:crimp.pull_force"
    assert str(raised.value) == "value 'field:crimp.pull_force' is unavailable"


def test_value_of_a_division_by_zero_is_unavailable() -> None:
    rule = compiled("pull_force / crimp_height", expect=Expect("number", "N/mm"))
    with pytest.raises(Unavailable) as raised:
        rule.value(environment(pull_force=(5, "N"), crimp_height=0.0))
    assert raised.value.key == "arithmetic error: float division by zero"


def test_references_in_source_order_without_repeats() -> None:
    rule = compiled(
        'press1.pressure > 1 bar and operator.qualified("crimping") and today < '
        "equipment.calibration_due and press1.pressure < 2 bar"
    )
    assert rule.references == (
        Reference("tag:press1.pressure", "press1.pressure", "bar"),
        Reference("operator.qualifications", "operator.qualifications", None),
        Reference("today", "today", None),
        Reference("equipment.calibration_due", "equipment.calibration_due", None),
    )
    assert rule.keys == {
        "tag:press1.pressure",
        "operator.qualifications",
        "today",
        "equipment.calibration_due",
    }


def test_explain_splits_the_top_level_and() -> None:
    rule = compiled(
        f'{WINDOW} and not press1.fault and operator.qualified("crimping") '
        "and equipment.calibration_due > today and (visual == 'ok' or checked)",
        GATE_SCOPE,
    )
    env = environment(
        fault=False,
        qualifications=frozenset({"cutting", "crimping"}),
        calibration_due=day("2026-05-01"),
        today=TODAY,
        visual="burr",
        checked=True,
    )
    explanation = rule.explain(env)
    assert explanation.outcome is U
    assert explanation.checks == (
        CheckResult(WINDOW, U, (Reading("press1.pressure", "unavailable", False),)),
        CheckResult("not press1.fault", P, (Reading("press1.fault", "false", True),)),
        CheckResult(
            'operator.qualified("crimping")',
            P,
            (Reading("operator.qualifications", "{crimping, cutting}", True),),
        ),
        CheckResult(
            "equipment.calibration_due > today",
            F,
            (
                Reading("equipment.calibration_due", "2026-05-01", True),
                Reading("today", "2026-05-04", True),
            ),
        ),
        CheckResult(
            "visual == 'ok' or checked",
            P,
            (Reading("visual", "burr", True), Reading("checked", "true", True)),
        ),
    )
    assert [c.text for c in explanation.failing()] == [WINDOW, "equipment.calibration_due > today"]


def test_explain_shows_values_in_their_own_unit() -> None:
    rule = compiled("press1.pressure < 80 bar and press1.temperature < 60 °C")
    explanation = rule.explain(environment(pressure=(72.4, "bar"), temperature=(41.5, "°C")))
    assert explanation.outcome is P
    assert [r.display for c in explanation.checks for r in c.readings] == ["72.4 bar", "41.5 °C"]


def test_explain_a_single_check_and_instants() -> None:
    rule = compiled("now > now - 1 h")
    explanation = rule.explain({"now": instant("2026-05-04T08:30:00+00:00")})
    assert explanation.checks == (
        CheckResult("now > now - 1 h", P, (Reading("now", "2026-05-04T08:30:00Z", True),)),
    )
