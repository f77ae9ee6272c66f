"""The environment a compiled rule reads, built for one operation at one moment.

Only the keys the operation's rules need are filled (see :mod:`dsl.env` for the keys). Tag values
are converted to SI; a bad tag, or one older than its ``max_age`` by source or receive time, is left
out so that a rule needing it answers *unknown*, while its ``.quality`` key still says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from dsl import env as keys
from dsl.model import Equipment, EquipmentState, Operation, Plant, Tag, ValueType
from dsl.rules import CompiledRule
from dsl.units import to_si
from engine.floor.tagsource import TagValue

_SUFFIXES = (".age", ".quality")


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


def rule_tags(rule_keys: Iterable[str]) -> set[str]:
    """The ``device.tag`` names behind a set of environment keys."""
    tags: set[str] = set()
    for key in rule_keys:
        if key.startswith(keys.TAG):
            name = key[len(keys.TAG) :]
            for suffix in _SUFFIXES:
                if name.endswith(suffix) and name.count(".") == 2:
                    name = name[: -len(suffix)]
            tags.add(name)
    return tags


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
    tags = read_by_rules | rule_tags(state_keys) | (set() if starting else set(operation.capture))
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


def tag_value_si(tag: Tag, value: float | bool | str) -> float | bool | str:
    """A tag's engineering value as rules see it (numbers in SI)."""
    if tag.value_type is ValueType.NUMBER:
        number = float(value)
        return to_si(number, tag.unit) if tag.unit else number
    return value


def reading_quality(tag: Tag, reading: TagValue, now: dt.datetime) -> str:
    """``good``, ``bad`` or ``stale``: a good value not heard from for longer than ``max_age``
    (by receive time) is stale. The source time is when the value last *changed*: OPC UA reports
    an unchanging value once, so a source age says nothing about freshness."""
    if reading.quality != "good" or reading.value is None:
        return "stale" if reading.quality == "stale" else "bad"
    receive_age = (now - reading.receive_time).total_seconds()
    return "stale" if receive_age > tag.max_age_s else "good"


def add_tags(
    env: dict[str, Any],
    plant: Plant,
    names: Collection[str],
    readings: Mapping[str, TagValue],
    now: dt.datetime,
) -> None:
    """Put each named tag's value (if usable), age and quality into ``env``."""
    for name in names:
        tag = plant.tag(name)
        reading = readings.get(name)
        if reading is None:
            env[keys.tag_quality_key(name)] = "bad"
            continue
        quality = reading_quality(tag, reading, now)
        env[keys.tag_quality_key(name)] = quality
        stamp = reading.source_time or reading.receive_time
        env[keys.tag_age_key(name)] = (now - stamp).total_seconds()
        if quality == "good" and reading.value is not None:
            env[keys.tag_key(name)] = tag_value_si(tag, reading.value)


def equipment_state(
    plant: Plant, equipment: Equipment, readings: Mapping[str, TagValue], now: dt.datetime
) -> str:
    """The state the equipment's rules give for these readings (see ``Equipment.derive_state``)."""
    if not equipment.state_rules:
        return EquipmentState.IDLE.value
    env: dict[str, Any] = {keys.NOW: keys.datetime_value(now)}
    env[keys.TODAY] = keys.date_value(site_today(plant, now))
    names = rule_tags(frozenset().union(*(s.when.keys for s in equipment.state_rules)))
    add_tags(env, plant, names, readings, now)
    return equipment.derive_state(env).value


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
