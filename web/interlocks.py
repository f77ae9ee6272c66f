"""The operator's interlock panel: every check of the item's current operation evaluated now,
with the live values it reads (value, unit, quality, age) and why the start is blocked.

This is a preview: it records nothing and writes no setpoint. Pressing Start asks the engine,
which evaluates the same rules again and records the attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsl.model import Operation, Plant, ValueType
from dsl.units import format_number
from engine.facade.production import Ferrule
from engine.floor.environment import reading_quality
from engine.floor.tagsource import TagValue
from engine.queries.items import ItemView


@dataclass(frozen=True, slots=True)
class TagShown:
    """A live value as the operator sees it."""

    key: str
    value: str
    quality: str
    age: str


@dataclass(frozen=True, slots=True)
class CheckShown:
    """One interlock: its text, its outcome (pass, fail, unknown) and what it read."""

    name: str
    because: str
    outcome: str
    conditions: tuple[tuple[str, str], ...]
    facts: tuple[tuple[str, str], ...]
    tags: tuple[TagShown, ...]


@dataclass(frozen=True, slots=True)
class Panel:
    """The item, its current operation and the start checks; ``blocked`` says why Start is not
    possible now ("" when it is)."""

    item: ItemView
    operation: Operation | None
    checks: tuple[CheckShown, ...]
    setpoints: tuple[str, ...]
    blocked: str

    @property
    def can_start(self) -> bool:
        return self.operation is not None and not self.blocked

    @property
    def started(self) -> bool:
        return self.item.operation_started


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def tag_shown(
    plant: Plant, key: str, readings: Mapping[str, TagValue], now: dt.datetime
) -> TagShown:
    tag = plant.tag(key)
    reading = readings.get(key)
    if reading is None or reading.value is None:
        return TagShown(key, "no value", "bad" if reading is None else reading.quality, "")
    value = reading.value
    if tag.value_type is ValueType.NUMBER and not isinstance(value, bool | str):
        shown = format_number(float(value)) + (f" {tag.unit}" if tag.unit else "")
    else:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
    stamp = reading.source_time or reading.receive_time
    age = _age(max(0.0, (now - stamp).total_seconds()))
    return TagShown(key, shown, reading_quality(tag, reading, now), age)


def _check(data: Mapping[str, Any], tags: tuple[TagShown, ...]) -> CheckShown:
    tag_names = {t.key for t in tags}
    facts: dict[str, str] = {}
    for sub in data["checks"]:
        for reading in sub["readings"]:
            if reading["name"] not in tag_names:
                facts[reading["name"]] = reading["display"] if reading["available"] else "unknown"
    return CheckShown(
        name=data["name"],
        because=data["because"],
        outcome=data["outcome"],
        conditions=tuple((c["text"], c["outcome"]) for c in data["checks"]),
        facts=tuple(facts.items()),
        tags=tags,
    )


def start_panel(ferrule: Ferrule, *, number: str, actor: str) -> tuple[Plant, Panel]:
    """The panel for the item ``number`` as ``actor`` would start it now; ``blocked`` is the
    engine's reason when the item's state forbids the start, else the failing interlocks."""
    item = ferrule.item(number)
    plant = ferrule.version_plant(item.config_version_id)
    if item.current_operation is None:
        return plant, Panel(item, None, (), (), "")
    preview = ferrule.preview_start(actor=actor, item=number, operation=item.current_operation)
    operation = plant.routing_for(item.product).operation(preview.operation)
    checks = tuple(
        _check(
            i.check, tuple(tag_shown(plant, key, preview.readings, preview.at) for key in i.tags)
        )
        for i in preview.interlocks
    )
    failing = [c.because or c.name for c in checks if c.outcome != "pass"]
    blocked = preview.problem
    if not blocked and failing:
        blocked = "Start is blocked: " + "; ".join(failing) + "."
    setpoints = tuple(f"{s.tag} = {s.value.source}" for s in operation.setpoints)
    return plant, Panel(item, operation, checks, setpoints, blocked)
