"""The environment a compiled rule reads, built for one operation at one moment.

Only the keys the operation's rules need are filled (see :mod:`dsl.env` for the keys). Tags go in
through :func:`dsl.tagenv.add_tag`: a tag's value (in SI) and ``.age`` only while its reading is
good and finite (not bad, not older than its ``max_age`` by receive time), so that a rule needing
either answers *unknown*, while its ``.quality`` key still says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from dsl import env as keys
from dsl.model import Equipment, EquipmentState, Operation, Plant, Tag
from dsl.rules import CompiledRule
from dsl.tagenv import Quality, add_tag, rule_reading, rule_tags
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


def _reported_quality(tag: Tag, reading: TagValue, now: dt.datetime) -> str:
    """The reading's own quality, except that a good value not heard from for longer than
    ``max_age`` (by receive time) is stale. The source time is when the value last *changed*:
    OPC UA reports an unchanging value once, so a source age says nothing about freshness."""
    if reading.quality == "good" and (now - reading.receive_time).total_seconds() > tag.max_age_s:
        return "stale"
    return reading.quality


def reading_quality(tag: Tag, reading: TagValue, now: dt.datetime) -> Quality:
    """``good``, ``bad`` or ``stale``, as rules see the reading (see :func:`add_tags`)."""
    return rule_reading(tag, reading.value, _reported_quality(tag, reading, now))[0]


@dataclass(frozen=True, slots=True)
class ReadingSeen(Jsonable):
    """One live reading as the rules see it, for screens: the value in the tag's unit (None when
    there is none), its quality and how many seconds old it is (None without a value)."""

    key: str
    value: Scalar | None
    unit: str | None
    quality: str
    age_s: float | None


def reading_seen(tag: Tag, reading: TagValue | None, now: dt.datetime) -> ReadingSeen:
    """What a screen shows of ``reading`` at ``now`` (see :class:`ReadingSeen`)."""
    if reading is None or reading.value is None:
        quality = "bad" if reading is None else reading.quality
        return ReadingSeen(tag.key, None, tag.unit, quality, None)
    stamp = reading.source_time or reading.receive_time
    age = max(0.0, (now - stamp).total_seconds())
    return ReadingSeen(tag.key, reading.value, tag.unit, reading_quality(tag, reading, now), age)


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
