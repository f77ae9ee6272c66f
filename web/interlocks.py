"""The operator's interlock panel: every check of the item's current operation evaluated now,
with the live values it reads (value, unit, quality, age) and why the start is blocked.

This is a preview: it records nothing and writes no setpoint. Pressing Start asks the engine,
which evaluates the same rules again and records the attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsl.model import Operation, Plant
from dsl.units import format_number
from engine.facade.production import Ferrule
from engine.floor.environment import ReadingSeen
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


def tag_shown(reading: ReadingSeen) -> TagShown:
    """A live reading as the operator sees it: value with unit, quality, age."""
    value = reading.value
    if value is None:
        return TagShown(reading.key, "no value", reading.quality, "")
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, float | int):
        shown = format_number(float(value)) + (f" {reading.unit}" if reading.unit else "")
    else:
        shown = value
    age = "" if reading.age_s is None else _age(reading.age_s)
    return TagShown(reading.key, shown, reading.quality, age)


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
        _check(i.check, tuple(tag_shown(r) for r in i.readings)) for i in preview.interlocks
    )
    failing = [c.because or c.name for c in checks if c.outcome != "pass"]
    blocked = preview.problem
    if not blocked and failing:
        blocked = "Start is blocked: " + "; ".join(failing) + "."
    setpoints = tuple(f"{s.tag} = {s.value.source}" for s in operation.setpoints)
    return plant, Panel(item, operation, checks, setpoints, blocked)
