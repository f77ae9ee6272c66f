"""The engine's rule environment over live readings: a bad, stale or non-finite reading gives a
rule neither the tag's value nor its age, so the interlocks that read them block."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from testdata import ACME

from dsl.loader import load_files, read_folder
from dsl.model import Operation, Plant
from dsl.rules import Outcome
from engine.errors import Blocked
from engine.floor.environment import (
    EquipmentFacts,
    ItemFacts,
    OperatorFacts,
    build_environment,
    equipment_state,
    needs_of,
    reading_quality,
)
from engine.floor.tagsource import TagReading, TagValue

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


@pytest.mark.parametrize("pressure", [math.nan, math.inf, -math.inf])
def test_starting_over_a_non_finite_pressure_is_blocked_as_unknown(
    line: Line, pressure: float
) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    received = dt.datetime.now(dt.UTC)
    line.tags.set_reading("press1.pressure", TagReading(pressure, "good", None, received))
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down "
        "(equipment.state = down); Press pressure is outside its 60–80 bar window "
        "(cannot be checked: press1.pressure is unavailable)."
    )
