"""The one tag → rule-environment builder: only a good, finite value of the tag's type reaches the
rules, with its age; anything else leaves value and age out so that interlocks block."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import pytest

from dsl.loader import LoadResult
from dsl.model import Interlock, Plant, Tag, ValueType
from dsl.rules import Outcome, Reading
from dsl.tagenv import add_tag, rule_reading, rule_tags

WINDOW_INTERLOCKS = """\
      - require: press.pressure.age < 5 s
        because: The pressure reading is too old
      - require: not (press.pressure < 2 bar or press.pressure > 8 bar)
        because: Pressure out of window
"""
FAIL_UNSAFE_READINGS = {
    "bad just after a disconnect": (None, "bad", 0.0),
    "stale but recently changed": (5.0, "stale", 1.0),
    "NaN reported good": (math.nan, "good", 1.0),
    "+Inf reported good": (math.inf, "good", 1.0),
    "-Inf reported good": (-math.inf, "good", 1.0),
}


@pytest.fixture
def plant(
    load_plant: Callable[[dict[str, str]], LoadResult],
    edit: Callable[[str, str, str], dict[str, str]],
) -> Plant:
    """The test plant with the pressure interlock written as an age check and a negated range."""
    files = edit(
        "routings/widget.yaml",
        "      - require: press.pressure between 2 bar and 8 bar\n"
        "        because: Pressure out of window\n",
        WINDOW_INTERLOCKS,
    )
    result = load_plant(files)
    assert result.plant is not None, result.render()
    return result.plant


def written_interlocks(plant: Plant) -> list[Interlock]:
    operation = plant.routings["widget"].operation("assemble")
    return [i for i in operation.interlocks if not i.implicit]


def entries(tag: Tag, value: object, quality: str, age: float | None) -> dict[str, Any]:
    env: dict[str, Any] = {}
    add_tag(env, tag, value, quality, age)
    return env


def test_a_good_reading_gives_the_value_in_si_its_age_and_quality(plant: Plant) -> None:
    assert entries(plant.tag("press.pressure"), 5.0, "good", 1.5) == {
        "tag:press.pressure.quality": "good",
        "tag:press.pressure": 500_000.0,
        "tag:press.pressure.age": 1.5,
    }
    assert entries(plant.tag("press.pressure"), 5, "good", None) == {
        "tag:press.pressure.quality": "good",
        "tag:press.pressure": 500_000.0,
    }


@pytest.mark.parametrize(
    ("value", "quality", "seen"),
    [
        (None, "bad", "bad"),
        (5.0, "bad", "bad"),
        (5.0, "stale", "stale"),
        (None, "good", "bad"),
        (math.nan, "good", "bad"),
        (math.inf, "good", "bad"),
        (-math.inf, "good", "bad"),
        (1e308, "good", "bad"),  # finite in bar, +Inf in Pa
        ("5", "good", "bad"),
        (True, "good", "bad"),
        (5.0, "uncertain", "bad"),
    ],
)
def test_anything_but_a_good_finite_number_leaves_value_and_age_out(
    plant: Plant, value: object, quality: str, seen: str
) -> None:
    tag = plant.tag("press.pressure")
    assert entries(tag, value, quality, 0.5) == {"tag:press.pressure.quality": seen}
    assert rule_reading(tag, value, quality) == (seen, None)


def test_bool_and_string_tags_take_only_values_of_their_type(plant: Plant) -> None:
    pressure = plant.tag("press.pressure")
    switch = dataclasses.replace(pressure, value_type=ValueType.BOOL, unit=None)
    recipe = dataclasses.replace(pressure, value_type=ValueType.STRING, unit=None)
    assert rule_reading(switch, True, "good") == ("good", True)
    assert rule_reading(switch, 1.0, "good") == ("bad", None)
    assert rule_reading(recipe, "A-7", "good") == ("good", "A-7")
    assert rule_reading(recipe, 7.0, "good") == ("bad", None)


@pytest.mark.parametrize("reading", FAIL_UNSAFE_READINGS.values(), ids=FAIL_UNSAFE_READINGS)
def test_interlocks_over_an_unusable_reading_are_unknown(
    plant: Plant, reading: tuple[object, str, float]
) -> None:
    env = entries(plant.tag("press.pressure"), *reading)
    interlocks = written_interlocks(plant)
    assert [i.rule.evaluate(env) for i in interlocks] == [Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert [i.rule.explain(env).checks[0].readings for i in interlocks] == [
        (Reading("press.pressure.age", "unavailable", False),),
        (Reading("press.pressure", "unavailable", False),),
    ]


def test_interlocks_over_a_good_reading_pass(plant: Plant) -> None:
    env = entries(plant.tag("press.pressure"), 5.0, "good", 1.0)
    assert [i.rule.evaluate(env) for i in written_interlocks(plant)] == [Outcome.PASS] * 2


def test_rule_tags_names_the_tags_behind_value_age_and_quality_keys() -> None:
    keys = {
        "tag:press.pressure",
        "tag:press.pressure.age",
        "tag:scale.weight.quality",
        "tag:press.age",  # a tag named "age" is a tag, not an age
        "tag:press.quality.age",
        "field:cut.length",
        "today",
    }
    assert rule_tags(keys) == {"press.pressure", "scale.weight", "press.age", "press.quality"}


def test_a_tag_named_age_read_by_a_state_rule_counts_as_read(
    load_plant: Callable[[dict[str, str]], LoadResult],
    edit: Callable[[str, str, str], dict[str, str]],
) -> None:
    files = edit(
        "site.yaml",
        "      - running: press.pressure > 1 bar\n",
        "      - down: press.age > 1 h\n      - running: press.pressure > 1 bar\n",
    )
    files["site.yaml"] = files["site.yaml"].replace(
        "      target:", '      age: {node: "ns=2;s=Press.Age", unit: s}\n      target:'
    )
    result = load_plant(files)
    assert result.plant is not None, result.render()
    assert [d.message for d in result.diagnostics] == []
