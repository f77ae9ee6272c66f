"""The engine's rule environment over live readings: a bad, stale or non-finite reading gives a
rule neither the tag's value nor its age, so the interlocks that read them block, and says why:
the tag source's reason, or the engine's own when it alone decides (stale by ``max_age``, NaN)."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import select
from testdata import ACME

from dsl.loader import load_files, read_folder
from dsl.model import Operation, Plant
from dsl.rules import Outcome
from engine.commands.explanations import describe_failure, rule_json
from engine.errors import Blocked
from engine.floor.environment import (
    EquipmentFacts,
    ItemFacts,
    OperatorFacts,
    build_environment,
    equipment_down_reason,
    equipment_state,
    needs_of,
    reading_quality,
    reading_seen,
    unavailable_reason,
    unavailable_reasons,
)
from engine.floor.tagsource import TagReading, TagValue
from engine.records.production import StartAttempt

NOW = dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC)
WINDOW = """\
      - require: press1.pressure between 60 bar and 80 bar
        because: Press pressure is outside its 60–80 bar window
"""
AGE_AND_NEGATED_WINDOW = """\
      - require: press1.pressure.age < 5 s
        because: The press pressure reading is too old
      - require: not (press1.pressure < 60 bar or press1.pressure > 80 bar)
        because: Press pressure is outside its 60–80 bar window
"""


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


FAIL_UNSAFE_READINGS = {
    "bad just after a disconnect": TagReading(None, "bad", ago(0.5), ago(0.5)),
    "stale but recently changed": TagReading(70.0, "good", ago(1), ago(6)),
    "NaN reported good": TagReading(math.nan, "good", ago(1), NOW),
    "+Inf reported good": TagReading(math.inf, "good", ago(1), NOW),
    "-Inf reported good": TagReading(-math.inf, "good", ago(1), NOW),
}


@pytest.fixture(scope="module")
def crimp_plant() -> Plant:
    """acme-harness with the crimp pressure interlock written as an age check and a negated
    range, the two forms that passed over a disconnected or NaN pressure."""
    texts, binary = read_folder(ACME)
    routing = texts["routings/harness-a.yaml"]
    assert routing.count(WINDOW) == 1
    texts["routings/harness-a.yaml"] = routing.replace(WINDOW, AGE_AND_NEGATED_WINDOW)
    result = load_files(texts, "acme", binary_paths=binary)
    assert result.plant is not None, result.render()
    return result.plant


def crimp_environment(plant: Plant, pressure: TagValue) -> tuple[Operation, dict[str, Any]]:
    crimp = plant.routings["harness-a"].operation("crimp")
    env = build_environment(
        plant,
        needs_of(plant, crimp, starting=True),
        now=NOW,
        readings={"press1.pressure": pressure, "press1.fault": TagReading(False, "good", NOW, NOW)},
        operator=OperatorFacts("olga", frozenset({"operator"}), frozenset({"crimping"})),
        equipment=EquipmentFacts("crimp-press-1", "running", dt.date(2027, 6, 30), None),
        item=ItemFacts("HA2611-00001", 1.0, 0),
        fields={},
    )
    return crimp, env


def outcomes(operation: Operation, env: dict[str, Any]) -> dict[str, Outcome]:
    return {i.rule.source: i.rule.evaluate(env) for i in operation.interlocks if not i.implicit}


@pytest.mark.parametrize("reading", FAIL_UNSAFE_READINGS.values(), ids=FAIL_UNSAFE_READINGS)
def test_interlocks_over_an_unusable_pressure_are_unknown(
    crimp_plant: Plant, reading: TagValue
) -> None:
    crimp, env = crimp_environment(crimp_plant, reading)
    assert outcomes(crimp, env) == {
        "press1.pressure.age < 5 s": Outcome.UNKNOWN,
        "not (press1.pressure < 60 bar or press1.pressure > 80 bar)": Outcome.UNKNOWN,
        "not press1.fault": Outcome.PASS,
    }
    assert "tag:press1.pressure" not in env
    assert "tag:press1.pressure.age" not in env
    assert env["tag:press1.pressure.quality"] == reading_quality(
        crimp_plant.tag("press1.pressure"), reading, NOW
    )


def test_interlocks_over_a_good_pressure_pass(crimp_plant: Plant) -> None:
    crimp, env = crimp_environment(crimp_plant, TagReading(70.0, "good", ago(1), NOW))
    assert set(outcomes(crimp, env).values()) == {Outcome.PASS}
    assert (env["tag:press1.pressure"], env["tag:press1.pressure.age"]) == (7_000_000.0, 1.0)


def test_a_non_finite_reading_has_bad_quality(crimp_plant: Plant) -> None:
    tag = crimp_plant.tag("press1.pressure")
    qualities = {
        name: reading_quality(tag, reading, NOW) for name, reading in FAIL_UNSAFE_READINGS.items()
    }
    assert qualities == {
        "bad just after a disconnect": "bad",
        "stale but recently changed": "stale",
        "NaN reported good": "bad",
        "+Inf reported good": "bad",
        "-Inf reported good": "bad",
    }


def test_equipment_whose_pressure_is_nan_is_down_not_idle(crimp_plant: Plant) -> None:
    readings = {
        "press1.fault": TagReading(False, "good", NOW, NOW),
        "press1.pressure": TagReading(math.nan, "good", NOW, NOW),
    }
    press = crimp_plant.equipment["crimp-press-1"]
    assert equipment_state(crimp_plant, press, readings, NOW) == "down"
    readings["press1.pressure"] = TagReading(2.0, "good", NOW, NOW)
    assert equipment_state(crimp_plant, press, readings, NOW) == "idle"


@pytest.mark.parametrize(
    ("pressure", "why"),
    [
        (math.nan, "the value is not a number"),
        (math.inf, "the value is infinite"),
        (-math.inf, "the value is infinite"),
    ],
)
def test_starting_over_a_non_finite_pressure_is_blocked_as_unknown(
    line: Line, pressure: float, why: str
) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    received = dt.datetime.now(dt.UTC)
    line.tags.set_reading("press1.pressure", TagReading(pressure, "good", None, received))
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down "
        f"(equipment.state = down because press1.pressure is unavailable: {why}); "
        "Press pressure is outside its 60–80 bar window "
        f"(cannot be checked: press1.pressure is unavailable: {why})."
    )


REFUSED = "press1: connection refused (since 12 s ago)"
ADAPTER_DOWN = "the adapter process is not running (last heartbeat 12 s ago)"
WHY_UNAVAILABLE = {
    "bad, with the source's reason": (TagReading(None, "bad", ago(12), NOW, REFUSED), REFUSED),
    "bad, without a reason": (
        TagReading(None, "bad", None, NOW),
        "press1.pressure: its quality is bad",
    ),
    "stale by the source": (TagReading(70.0, "stale", ago(1), ago(12), ADAPTER_DOWN), ADAPTER_DOWN),
    "stale by the engine": (
        TagReading(70.0, "good", ago(60), ago(7.2)),
        "press1.pressure: no fresh value for 7.2 s (max_age 5 s)",
    ),
    "stale by the engine for long": (
        TagReading(70.0, "good", ago(4 * 3600), ago(3 * 3600)),
        "press1.pressure: no fresh value for 3.0 h (max_age 5 s)",
    ),
    "NaN": (
        TagReading(math.nan, "good", ago(1), NOW),
        "press1.pressure: the value is not a number",
    ),
    "-Inf": (TagReading(-math.inf, "good", ago(1), NOW), "press1.pressure: the value is infinite"),
    "text": (
        TagReading("high", "good", ago(1), NOW),
        'press1.pressure: the value "high" is not a number',
    ),
    "no value": (TagReading(None, "good", ago(1), NOW), "press1.pressure: no value"),
    "good and fresh": (TagReading(70.0, "good", ago(60), ago(4.9)), ""),
}


@pytest.mark.parametrize(("reading", "why"), WHY_UNAVAILABLE.values(), ids=WHY_UNAVAILABLE)
def test_each_unusable_reading_says_why(crimp_plant: Plant, reading: TagValue, why: str) -> None:
    tag = crimp_plant.tag("press1.pressure")
    assert unavailable_reason(tag, reading, NOW) == why
    assert reading_seen(tag, reading, NOW).reason == why
    assert (why == "") == (reading_quality(tag, reading, NOW) == "good")


def test_a_tag_the_source_has_nothing_of_has_no_reason(crimp_plant: Plant) -> None:
    tag = crimp_plant.tag("press1.pressure")
    assert unavailable_reason(tag, None, NOW) == ""
    seen = reading_seen(tag, None, NOW)
    assert (seen.quality, seen.reason) == ("bad", "")


def test_a_bool_tag_that_is_no_bool_says_so(crimp_plant: Plant) -> None:
    tag = crimp_plant.tag("press1.fault")
    reading = TagReading(1.0, "good", NOW, NOW)
    assert (
        unavailable_reason(tag, reading, NOW) == "press1.fault: the value 1.0 is not true or false"
    )


def test_interlock_data_gives_each_unavailable_reading_its_reason(crimp_plant: Plant) -> None:
    crimp, env = crimp_environment(crimp_plant, TagReading(None, "bad", ago(12), NOW, REFUSED))
    readings: dict[str, TagValue] = {"press1.pressure": TagReading(None, "bad", None, NOW, REFUSED)}
    reasons = unavailable_reasons(crimp_plant, ["press1.pressure", "press1.fault"], readings, NOW)
    assert reasons == {"tag:press1.pressure": REFUSED}  # the fault: no reading, nothing to say
    by_source = {i.rule.source: i for i in crimp.interlocks}
    age = by_source["press1.pressure.age < 5 s"]
    data = rule_json(age.name, age.because, age.rule, env, reasons=reasons)
    assert data["checks"][0]["readings"] == [
        {
            "name": "press1.pressure.age",
            "display": "unavailable",
            "available": False,
            "reason": REFUSED,
        }
    ]
    assert describe_failure(data) == (
        "The press pressure reading is too old (cannot be checked: press1.pressure.age is "
        "unavailable: press1: connection refused (since 12 s ago))"
    )
    window = by_source["not (press1.pressure < 60 bar or press1.pressure > 80 bar)"]
    data = rule_json(window.name, window.because, window.rule, env, reasons=reasons)
    assert describe_failure(data) == (
        "Press pressure is outside its 60–80 bar window (cannot be checked: press1.pressure is "
        "unavailable: press1: connection refused (since 12 s ago))"
    )


def test_equipment_down_because_its_rules_cannot_see_it_says_which_tag(crimp_plant: Plant) -> None:
    press = crimp_plant.equipment["crimp-press-1"]
    readings: dict[str, TagValue] = {
        "press1.fault": TagReading(None, "bad", None, NOW, REFUSED),
        "press1.pressure": TagReading(None, "bad", None, NOW, REFUSED),
    }
    assert equipment_state(crimp_plant, press, readings, NOW) == "down"
    assert equipment_down_reason(crimp_plant, press, readings, NOW) == (
        "press1.fault is unavailable: press1: connection refused (since 12 s ago)"
    )
    readings["press1.fault"] = TagReading(True, "good", NOW, NOW)  # down by its rule: no reason
    assert equipment_state(crimp_plant, press, readings, NOW) == "down"
    assert equipment_down_reason(crimp_plant, press, readings, NOW) == ""


def _recorded_checks(line: Line) -> list[Any]:
    with line.engine.db.session() as session:
        return list(session.scalars(select(StartAttempt.checks).order_by(StartAttempt.id)).all())


def test_a_disconnected_press_blocks_crimp_naming_the_sources_reason(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.tags.set_bad("press1.pressure", REFUSED)
    line.tags.set_bad("press1.fault", REFUSED)
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down (equipment.state = "
        "down because press1.fault is unavailable: press1: connection refused (since 12 s ago)); "
        "Press pressure is outside its 60–80 bar window (cannot be checked: press1.pressure is "
        "unavailable: press1: connection refused (since 12 s ago)); The press reports a fault "
        "(cannot be checked: press1.fault is unavailable: press1: connection refused (since 12 s "
        "ago))."
    )
    seen = {
        r["name"]: (r["display"], r["reason"])
        for c in blocked.value.checks
        for sub in c["checks"]
        for r in sub["readings"]
    }
    assert seen["press1.pressure"] == ("unavailable", REFUSED)
    assert seen["press1.fault"] == ("unavailable", REFUSED)
    assert seen["equipment.state"] == (
        "down",
        "press1.fault is unavailable: press1: connection refused (since 12 s ago)",
    )
    assert seen["operator.qualifications"][1] == ""  # a fact rules can use: nothing to say
    assert _recorded_checks(line)[-1] == list(blocked.value.checks)


def test_a_value_the_engine_finds_stale_says_for_how_long(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    moment = line.engine.clock()
    line.engine.clock = lambda: moment
    received = moment - dt.timedelta(seconds=7.2)
    line.tags.set_reading("press1.pressure", TagReading(70.0, "good", received, received))
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    stale = "no fresh value for 7.2 s (max_age 5 s)"
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down "
        f"(equipment.state = down because press1.pressure is unavailable: {stale}); "
        f"Press pressure is outside its 60–80 bar window "
        f"(cannot be checked: press1.pressure is unavailable: {stale})."
    )


def test_a_press_put_down_by_hand_is_not_said_to_be_down_for_a_tag(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.engine.record_equipment_state(
        actor=line.supervisor,
        name="crimp-press-1",
        state="down",
        at=line.engine.clock(),
        source="manual",
    )
    line.tags.set_bad("press1.fault", REFUSED)
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down "
        "(equipment.state = down); The press reports a fault (cannot be checked: press1.fault "
        "is unavailable: press1: connection refused (since 12 s ago))."
    )
