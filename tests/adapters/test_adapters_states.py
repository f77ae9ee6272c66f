"""Equipment states from state rules over cache values, and interlocks over bad, stale and
non-finite tags."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from adapter_helpers import compile_rule, equipment_with, make_plant, make_tag

from adapters.cache import TagCache, TagCacheWriter
from adapters.envsource import tag_env
from adapters.states import StateChange, StateTracker, state_key
from dsl.model import (
    Device,
    EquipmentState,
    ModbusAddress,
    ModbusConnection,
    Plant,
    RegisterKind,
    StateCause,
    ValueType,
)
from dsl.rules import Outcome

NOW = 1_800_000_000.0
RUNNING = EquipmentState.RUNNING
AGE_AND_NEGATED_WINDOW = (
    "press.pressure.age < 5 s",
    "not (press.pressure < 60 bar or press.pressure > 80 bar)",
)
FAIL_UNSAFE_READINGS: dict[str, Callable[[TagCacheWriter], None]] = {
    "bad just after a disconnect": lambda w: w.mark_bad("press.pressure", "lost", NOW - 0.5),
    "stale but recently changed": lambda w: w.publish("press.pressure", 70.0, NOW - 1, NOW - 6),
    "NaN reported good": lambda w: w.publish("press.pressure", math.nan, NOW - 1, NOW),
    "+Inf reported good": lambda w: w.publish("press.pressure", math.inf, NOW - 1, NOW),
    "-Inf reported good": lambda w: w.publish("press.pressure", -math.inf, NOW - 1, NOW),
}


def press_plant() -> Plant:
    tags = {
        "pressure": make_tag(
            "press", "pressure", ModbusAddress(RegisterKind.HOLDING, 0, "uint16"), unit="bar"
        ),
        "fault": make_tag(
            "press", "fault", ModbusAddress(RegisterKind.COIL, 0, "bool"), value_type=ValueType.BOOL
        ),
    }
    device = Device("press", ModbusConnection("127.0.0.1"), tags, "", tags["fault"].span)
    bare = make_plant([device])
    rules = [
        (EquipmentState.DOWN, compile_rule("press.fault", bare)),
        (EquipmentState.RUNNING, compile_rule("press.pressure > 10 bar", bare)),
    ]
    return make_plant([device], [equipment_with("crimp", rules)])


def setup(
    tmp_path: Path,
) -> tuple[Plant, TagCacheWriter, TagCache, StateTracker, list[StateChange]]:
    plant = press_plant()
    path = tmp_path / "tags.mmap"
    keys = ["press.fault", "press.pressure", state_key("crimp")]
    writer = TagCacheWriter(path, keys, [5.0, 5.0, 5.0])
    cache = TagCache.open(path)
    changes: list[StateChange] = []
    return plant, writer, cache, StateTracker(plant, cache, writer, changes.append), changes


def test_states_follow_the_first_passing_rule_and_record_changes(tmp_path: Path) -> None:
    _, writer, cache, tracker, changes = setup(tmp_path)
    writer.publish("press.fault", False, NOW, NOW)
    writer.publish("press.pressure", 70.0, NOW, NOW)
    tracker.evaluate(now=NOW)
    writer.publish("press.pressure", 2.0, NOW + 1, NOW + 1)
    tracker.evaluate(tracker.affected(["press.pressure"]), now=NOW + 1)
    writer.publish("press.fault", True, NOW + 2, NOW + 2)
    tracker.evaluate(tracker.affected(["press.fault"]), now=NOW + 2)
    tracker.evaluate(now=NOW + 2.5)  # no change, no new record
    at = [dt.datetime.fromtimestamp(NOW + s, dt.UTC) for s in (0, 1, 2)]
    rule, fault, none = StateCause.STATE_RULE, "down: press.fault", "no state rule passes"
    assert changes == [
        StateChange("crimp", None, RUNNING, at[0], rule, "running: press.pressure > 10 bar"),
        StateChange("crimp", RUNNING, EquipmentState.IDLE, at[1], rule, none),
        StateChange("crimp", EquipmentState.IDLE, EquipmentState.DOWN, at[2], rule, fault),
    ]
    assert cache.read(state_key("crimp"), now=NOW + 2.5).value == "down"
    assert cache.read(state_key("crimp"), now=NOW + 2.5).source_time == NOW + 2


def test_a_machine_whose_tags_are_bad_is_down_for_interlocks_and_unknown_in_the_history(
    tmp_path: Path,
) -> None:
    _, writer, cache, tracker, changes = setup(tmp_path)
    writer.beat(NOW)
    writer.mark_bad("press.fault", "press: connection lost", NOW - 3)
    writer.publish("press.pressure", 70.0, NOW, NOW)
    tracker.evaluate(now=NOW)
    assert [(c.new, c.cause, c.detail) for c in changes] == [
        (
            EquipmentState.UNKNOWN,
            StateCause.DEVICE_UNREACHABLE,
            "press.fault: press: connection lost (since 3 s ago)",
        )
    ]
    assert cache.read(state_key("crimp"), now=NOW).value == "down"


def test_the_adapter_stopping_makes_every_machine_unknown_and_the_start_up_adds_nothing(
    tmp_path: Path,
) -> None:
    _, writer, cache, tracker, changes = setup(tmp_path)
    tracker.adapter_stopped(NOW)  # the start-up: the previous process stopped (or was killed)
    tracker.evaluate(now=NOW)  # no tag read yet: still unknown, nothing recorded
    writer.publish("press.fault", False, NOW + 1, NOW + 1)
    writer.publish("press.pressure", 70.0, NOW + 1, NOW + 1)
    tracker.evaluate(now=NOW + 1)
    tracker.adapter_stopped(NOW + 5)
    at = [dt.datetime.fromtimestamp(NOW + s, dt.UTC) for s in (0, 1, 5)]
    stopped = (StateCause.ADAPTER_NOT_RUNNING, "the adapter process is not running")
    assert changes == [
        StateChange("crimp", None, EquipmentState.UNKNOWN, at[0], *stopped),
        StateChange(
            "crimp",
            EquipmentState.UNKNOWN,
            RUNNING,
            at[1],
            StateCause.STATE_RULE,
            "running: press.pressure > 10 bar",
        ),
        StateChange("crimp", RUNNING, EquipmentState.UNKNOWN, at[2], *stopped),
    ]
    assert cache.read(state_key("crimp"), now=NOW + 1).source_time == NOW + 1


def test_stale_and_bad_tags_are_left_out_of_the_env_with_their_quality(tmp_path: Path) -> None:
    plant, writer, cache, _, _ = setup(tmp_path)
    writer.publish("press.pressure", 70.0, NOW - 1, NOW - 6)
    writer.mark_bad("press.fault", "press: connection lost", NOW)
    env = tag_env(cache, plant.all_tags(), NOW)
    assert env == {"tag:press.pressure.quality": "stale", "tag:press.fault.quality": "bad"}
    writer.publish("press.pressure", 70.0, NOW - 1, NOW)
    assert tag_env(cache, [plant.tag("press.pressure")], NOW) == {
        "tag:press.pressure.quality": "good",
        "tag:press.pressure": 7_000_000.0,
        "tag:press.pressure.age": 1.0,
    }


@pytest.mark.parametrize("reading", FAIL_UNSAFE_READINGS, ids=FAIL_UNSAFE_READINGS)
def test_interlocks_over_an_unusable_cache_value_are_unknown(tmp_path: Path, reading: str) -> None:
    plant, writer, cache, _, _ = setup(tmp_path)
    FAIL_UNSAFE_READINGS[reading](writer)
    env = tag_env(cache, plant.all_tags(), NOW)
    rules = [compile_rule(source, plant) for source in AGE_AND_NEGATED_WINDOW]
    assert [rule.evaluate(env) for rule in rules] == [Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert "tag:press.pressure" not in env
    assert "tag:press.pressure.age" not in env
    writer.publish("press.pressure", 70.0, NOW - 1, NOW)
    env = tag_env(cache, plant.all_tags(), NOW)
    assert [rule.evaluate(env) for rule in rules] == [Outcome.PASS, Outcome.PASS]


def test_a_machine_whose_pressure_is_nan_is_down_not_idle(tmp_path: Path) -> None:
    _, writer, _, tracker, changes = setup(tmp_path)
    writer.publish("press.fault", False, NOW, NOW)
    writer.publish("press.pressure", math.nan, NOW, NOW)
    tracker.evaluate(now=NOW)
    writer.publish("press.pressure", 2.0, NOW + 1, NOW + 1)
    tracker.evaluate(now=NOW + 1)
    assert [(c.new, c.detail) for c in changes] == [
        (EquipmentState.UNKNOWN, "a tag it reads has no usable value"),
        (EquipmentState.IDLE, "no state rule passes"),
    ]


def test_a_state_rule_over_a_tag_named_age_reads_that_tag(tmp_path: Path) -> None:
    age = make_tag("press", "age", ModbusAddress(RegisterKind.HOLDING, 1, "uint16"), unit="h")
    device = Device("press", ModbusConnection("127.0.0.1"), {"age": age}, "", age.span)
    rules = [(EquipmentState.DOWN, compile_rule("press.age > 1000 h", make_plant([device])))]
    plant = make_plant([device], [equipment_with("crimp", rules)])
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["press.age", state_key("crimp")], [5.0, 5.0])
    changes: list[StateChange] = []
    tracker = StateTracker(plant, TagCache.open(path), writer, changes.append)
    writer.publish("press.age", 2000.0, NOW, NOW)
    tracker.evaluate(tracker.affected(["press.age"]), now=NOW)
    assert [c.new for c in changes] == [EquipmentState.DOWN]


def test_an_interlock_over_a_bad_tag_is_unknown_and_names_it(tmp_path: Path) -> None:
    plant, writer, cache, _, _ = setup(tmp_path)
    writer.mark_bad("press.pressure", "press: connection lost", NOW)
    rule = compile_rule("press.pressure between 60 bar and 80 bar", plant)
    env = tag_env(cache, plant.all_tags(), NOW)
    assert rule.evaluate(env) is Outcome.UNKNOWN
    explanation = rule.explain(env)
    assert explanation.outcome is Outcome.UNKNOWN
    readings = [r for check in explanation.failing() for r in check.readings]
    assert [(r.name, r.available) for r in readings] == [("press.pressure", False)]
