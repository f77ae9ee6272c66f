"""The environment a compiled rule reads, built for one operation at one moment.

Only the keys the operation's rules need are filled (see :mod:`dsl.env` for the keys). Tags go in
through :func:`dsl.tagenv.add_tag`: a tag's value (in SI) and ``.age`` only while its reading is
good and finite (not bad, not older than its ``max_age`` by receive time), so that a rule needing
either answers *unknown*, while its ``.quality`` key still says what, and
:func:`unavailable_reason` says why, for people.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from dsl import env as keys
from dsl.model import Equipment, EquipmentState, Operation, Plant, Tag, ValueType
from dsl.rules import CompiledRule, Outcome
from dsl.tagenv import Quality, add_tag, rule_reading, rule_tags
from dsl.units import format_number
from engine.floor.tagsource import Scalar, TagValue
from engine.infra.jsonable import Jsonable


@dataclass(frozen=True, slots=True)
class OperatorFacts:
    """Who is doing the work: user name, roles and the qualifications valid today."""

    username: str
    roles: frozenset[str]
    qualifications: frozenset[str]


@dataclass(frozen=True, slots=True)
class EquipmentFacts:
    """The operation's equipment as the rules see it."""

    name: str
    state: str
    calibration_due: dt.date | None
    maintenance_due: dt.date | None
    maintenance_unknown: str = ""  # why the uses, so the maintenance due date, are unknown


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """The unit or lot being worked on."""

    number: str
    quantity: float
    rework_count: int


@dataclass(frozen=True, slots=True)
class OperationNeeds:
    """What evaluating the rules of one step of an operation (its start or its completion)
    requires, computed once: the keys the rules read, the tags to read (for the rules, the
    equipment's state and, at completion, the captured tags), the tags the rules themselves
    read, and whether they read the operator's roles or qualifications, the equipment, or
    fields entered at other operations."""

    keys: frozenset[str]
    tags: tuple[str, ...]
    rule_tags: frozenset[str]
    operator: bool
    equipment: bool
    earlier_fields: bool


def step_rules(operation: Operation, *, starting: bool) -> tuple[CompiledRule, ...]:
    """The rules evaluated when the operation starts (interlocks and setpoint values) or
    completes (gates)."""
    if starting:
        return (*(i.rule for i in operation.interlocks), *(s.value for s in operation.setpoints))
    return tuple(g.check for g in operation.gates)


_needs_cache: dict[tuple[int, bool], tuple[Operation, OperationNeeds]] = {}


def needs_of(plant: Plant, operation: Operation, *, starting: bool) -> OperationNeeds:
    """What starting or completing ``operation`` needs (cached: plants are immutable)."""
    cached = _needs_cache.get((id(operation), starting))
    if cached is not None and cached[0] is operation:
        return cached[1]
    rule_keys = frozenset().union(*(r.keys for r in step_rules(operation, starting=starting)))
    reads_equipment = any(k.startswith("equipment.") for k in rule_keys)
    equipment = plant.equipment.get(operation.equipment) if operation.equipment else None
    state_keys = (
        frozenset().union(*(s.when.keys for s in equipment.state_rules))
        if equipment and reads_equipment
        else frozenset()
    )
    read_by_rules = rule_tags(rule_keys)
    counter = equipment.maintenance.counter if equipment and equipment.maintenance else None
    counted = {counter} if counter and "equipment.maintenance_due" in rule_keys else set()
    tags = (
        read_by_rules
        | rule_tags(state_keys)
        | counted
        | (set() if starting else set(operation.capture))
    )
    own_fields = keys.field_key(operation.id, "")
    needs = OperationNeeds(
        keys=rule_keys,
        tags=tuple(sorted(tags)),
        rule_tags=frozenset(read_by_rules),
        operator="operator.roles" in rule_keys or "operator.qualifications" in rule_keys,
        equipment=reads_equipment,
        earlier_fields=any(
            k.startswith(keys.FIELD) and not k.startswith(own_fields) for k in rule_keys
        ),
    )
    _needs_cache[(id(operation), starting)] = (operation, needs)
    return needs


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_today(plant: Plant, now: dt.datetime) -> dt.date:
    """The calendar date at the site at instant ``now``."""
    return now.astimezone(_zone(plant.site.timezone)).date()


def _silent_for(tag: Tag, reading: TagValue, now: dt.datetime) -> float | None:
    """Seconds since a good reading was last received, when that is longer than the tag's
    ``max_age`` (the reading is stale), else None. The source time is when the value last
    *changed*: OPC UA reports an unchanging value once, so a source age says nothing about
    freshness."""
    if reading.quality != "good":
        return None
    silent = (now - reading.receive_time).total_seconds()
    return silent if silent > tag.max_age_s else None


def _reported_quality(tag: Tag, reading: TagValue, now: dt.datetime) -> str:
    """The reading's own quality, except that a good value not heard from for longer than
    ``max_age`` (by receive time) is stale."""
    return "stale" if _silent_for(tag, reading, now) is not None else reading.quality


def reading_quality(tag: Tag, reading: TagValue, now: dt.datetime) -> Quality:
    """``good``, ``bad`` or ``stale``, as rules see the reading (see :func:`add_tags`)."""
    return rule_reading(tag, reading.value, _reported_quality(tag, reading, now))[0]


def _duration(seconds: float) -> str:
    """``7.2 s``, ``5 min``, ``3.5 h``: how long, for people."""
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _unusable_value(tag: Tag, value: object) -> str:
    """Why rules cannot read ``value``, reported good for ``tag``; "" when they can."""
    if rule_reading(tag, value, "good")[0] == "good":
        return ""
    if value is None:
        what = "no value"
    elif tag.value_type is ValueType.NUMBER:
        if isinstance(value, float) and math.isnan(value):
            what = "the value is not a number"
        elif isinstance(value, float) and math.isinf(value):
            what = "the value is infinite"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            unit = f" {tag.unit}" if tag.unit else ""
            what = f"the value {format_number(float(value))}{unit} is out of range"
        else:
            what = f"the value {_shown(value)} is not a number"
    elif tag.value_type is ValueType.BOOL:
        what = f"the value {_shown(value)} is not true or false"
    else:
        what = f"the value {_shown(value)} is not text"
    return f"{tag.key}: {what}"


def unavailable_reason(tag: Tag, reading: TagValue | None, now: dt.datetime) -> str:
    """Why rules cannot use ``reading`` of ``tag`` at ``now``, for people; "" while they can.

    The tag source's own reason for a bad or stale reading ("press1: connection refused (since 12
    s ago)"), else what the engine itself decided: "press1.pressure: no fresh value for 7.2 s
    (max_age 5 s)" for a good value received too long ago, "press1.pressure: the value is not a
    number" for NaN (see :func:`dsl.tagenv.rule_reading`). A tag the source has no reading of
    has no reason either: the source said nothing about it."""
    if reading is None:
        return ""
    silent = _silent_for(tag, reading, now)
    if silent is not None:
        return (
            f"{tag.key}: no fresh value for {_duration(silent)} "
            f"(max_age {format_number(tag.max_age_s)} s)"
        )
    if reading.quality == "good":
        return _unusable_value(tag, reading.value)
    return reading.reason or f"{tag.key}: its quality is {reading.quality}"


def unavailable(name: str, reason: str) -> str:
    """How explanations say that the value ``name`` is unavailable, and why: "press1.pressure is
    unavailable: press1: connection refused (since 12 s ago)". A reason about ``name`` itself
    does not name it twice ("press1.pressure is unavailable: the device sent NaN")."""
    if not reason:
        return f"{name} is unavailable"
    return f"{name} is unavailable: {reason.removeprefix(name + ': ')}"


def unavailable_reasons(
    plant: Plant, names: Collection[str], readings: Mapping[str, TagValue], now: dt.datetime
) -> dict[str, str]:
    """Why each of the named tags rules cannot use has no usable value (see
    :func:`unavailable_reason`), by the environment key of its value (``tag:press1.pressure``);
    tags that are usable, or that the source has no reading of, are left out."""
    reasons: dict[str, str] = {}
    for name in names:
        reason = unavailable_reason(plant.tag(name), readings.get(name), now)
        if reason:
            reasons[keys.tag_key(name)] = reason
    return reasons


@dataclass(frozen=True, slots=True)
class ReadingSeen(Jsonable):
    """One live reading as the rules see it, for screens: the value in the tag's unit (None when
    there is none), its quality, how many seconds old it is (None without a value) and why rules
    cannot use it ("" when they can; see :func:`unavailable_reason`)."""

    key: str
    value: Scalar | None
    unit: str | None
    quality: str
    age_s: float | None
    reason: str = ""


def reading_seen(tag: Tag, reading: TagValue | None, now: dt.datetime) -> ReadingSeen:
    """What a screen shows of ``reading`` at ``now`` (see :class:`ReadingSeen`)."""
    reason = unavailable_reason(tag, reading, now)
    if reading is None or reading.value is None:
        quality = "bad" if reading is None else reading.quality
        return ReadingSeen(tag.key, None, tag.unit, quality, None, reason)
    stamp = reading.source_time or reading.receive_time
    age = max(0.0, (now - stamp).total_seconds())
    quality = reading_quality(tag, reading, now)
    return ReadingSeen(tag.key, reading.value, tag.unit, quality, age, reason)


def add_tags(
    env: dict[str, Any],
    plant: Plant,
    names: Collection[str],
    readings: Mapping[str, TagValue],
    now: dt.datetime,
) -> None:
    """Put each named tag's quality into ``env``, and its value and age while they are usable
    (:func:`dsl.tagenv.add_tag`); a tag without a reading is bad."""
    for name in names:
        tag = plant.tag(name)
        reading = readings.get(name)
        if reading is None:
            add_tag(env, tag, None, "bad", None)
            continue
        stamp = reading.source_time or reading.receive_time
        quality = _reported_quality(tag, reading, now)
        add_tag(env, tag, reading.value, quality, (now - stamp).total_seconds())


def _state_environment(
    plant: Plant, equipment: Equipment, readings: Mapping[str, TagValue], now: dt.datetime
) -> dict[str, Any]:
    env: dict[str, Any] = {keys.NOW: keys.datetime_value(now)}
    env[keys.TODAY] = keys.date_value(site_today(plant, now))
    names = rule_tags(frozenset().union(*(s.when.keys for s in equipment.state_rules)))
    add_tags(env, plant, names, readings, now)
    return env


def equipment_state(
    plant: Plant, equipment: Equipment, readings: Mapping[str, TagValue], now: dt.datetime
) -> str:
    """The state the equipment's rules give for these readings (see ``Equipment.derive_state``)."""
    if not equipment.state_rules:
        return EquipmentState.IDLE.value
    return equipment.derive_state(_state_environment(plant, equipment, readings, now)).value


def equipment_down_reason(
    plant: Plant, equipment: Equipment, readings: Mapping[str, TagValue], now: dt.datetime
) -> str:
    """Why the equipment's rules give ``down`` because they cannot see the machine (a rule before
    the first passing one cannot be decided): each tag that rule reads without a usable value,
    "press1.fault is unavailable: press1: connection refused (since 12 s ago)"; "" when the rules
    give another state, or ``down`` by a rule that passed."""
    env = _state_environment(plant, equipment, readings, now)
    for state in equipment.state_rules:
        outcome = state.when.evaluate(env)
        if outcome is Outcome.PASS:
            return ""
        if outcome is Outcome.UNKNOWN:
            missing = sorted(t for t in rule_tags(state.when.keys) if keys.tag_key(t) not in env)
            said = [
                unavailable(t, unavailable_reason(plant.tag(t), readings.get(t), now))
                for t in missing
            ]
            return ", ".join(said) or f"its state rule '{state.when.source}' cannot be decided"
    return ""


def build_environment(
    plant: Plant,
    needs: OperationNeeds,
    *,
    now: dt.datetime,
    readings: Mapping[str, TagValue],
    operator: OperatorFacts,
    equipment: EquipmentFacts | None,
    item: ItemFacts,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The environment for the rules behind ``needs``. ``fields`` maps ``field:`` keys to SI
    values (earlier operations' and, at completion, this one's)."""
    needed = needs.keys
    env: dict[str, Any] = {}
    add_tags(env, plant, needs.rule_tags, readings, now)
    facts: dict[str, Any] = {
        keys.NOW: keys.datetime_value(now),
        keys.TODAY: keys.date_value(site_today(plant, now)),
        "operator.id": operator.username,
        "operator.roles": operator.roles,
        "operator.qualifications": operator.qualifications,
        "item.id": item.number,
        "item.quantity": item.quantity,
        "item.rework_count": item.rework_count,
    }
    if equipment is not None:
        facts["equipment.name"] = equipment.name
        facts["equipment.state"] = equipment.state
        if equipment.calibration_due is not None:
            facts["equipment.calibration_due"] = keys.date_value(equipment.calibration_due)
        if equipment.maintenance_due is not None:
            facts["equipment.maintenance_due"] = keys.date_value(equipment.maintenance_due)
    for key in needed:
        if key in facts:
            env[key] = facts[key]
        elif key.startswith(keys.FIELD) and key in fields:
            env[key] = fields[key]
    return env
