"""The operator's interlock panel: every check of the item's current operation evaluated now,
with the live values it reads (value, unit, quality, age, and why a value is unavailable) and why
the start is blocked.

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
    """A live value as the operator sees it; ``reason`` says why rules cannot use it ("press1:
    connection refused (since 12 s ago)"), "" when they can."""

    key: str
    value: str
    quality: str
    age: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CheckShown:
    """One interlock: its text, its outcome (pass, fail, unknown), what it read, and ``why`` it
    blocks a start ("" when it passes; with the reasons of unavailable values when it cannot be
    decided)."""

    name: str
    because: str
    outcome: str
    conditions: tuple[tuple[str, str], ...]
    facts: tuple[tuple[str, str], ...]
    tags: tuple[TagShown, ...]
    why: str = ""


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
    """A live reading as the operator sees it: value with unit, quality, age, why it is
    unavailable."""
    value = reading.value
    if value is None:
        return TagShown(reading.key, "no value", reading.quality, "", reading.reason)
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, float | int):
        shown = format_number(float(value)) + (f" {reading.unit}" if reading.unit else "")
    else:
        shown = value
    age = "" if reading.age_s is None else _age(reading.age_s)
    return TagShown(reading.key, shown, reading.quality, age, reading.reason)


def _fact(reading: Mapping[str, Any]) -> str:
    """A value a check read that is not a live tag value (``equipment.state``, a tag's ``.age``):
    "down because press1.fault is unavailable: …", "unknown: press1: connection refused …"."""
    reason = str(reading.get("reason", ""))
    if not reading["available"]:
        return f"unknown: {reason}" if reason else "unknown"
    return f"{reading['display']} because {reason}" if reason else str(reading["display"])


def _check(data: Mapping[str, Any], tags: tuple[TagShown, ...], why: str) -> CheckShown:
    tag_names = {t.key for t in tags}
    facts: dict[str, str] = {}
    for sub in data["checks"]:
        for reading in sub["readings"]:
            if reading["name"] not in tag_names:
                facts[reading["name"]] = _fact(reading)
    return CheckShown(
        name=data["name"],
        because=data["because"],
        outcome=data["outcome"],
        conditions=tuple((c["text"], c["outcome"]) for c in data["checks"]),
        facts=tuple(facts.items()),
        tags=tags,
        why=why,
    )


def start_panel(ferrule: Ferrule, *, number: str, actor: str) -> tuple[Plant, Panel]:
    """The panel for the item ``number`` as ``actor`` would start it now; ``blocked`` is the
    engine's reason when the item's state forbids the start, else the failing interlocks (with
    why the values are unavailable for those that cannot be decided)."""
    item = ferrule.item(number)
    plant = ferrule.version_plant(item.config_version_id)
    if item.current_operation is None:
        return plant, Panel(item, None, (), (), "")
    preview = ferrule.preview_start(actor=actor, item=number, operation=item.current_operation)
    operation = plant.routing_for(item.product).operation(preview.operation)
    checks = tuple(
        _check(i.check, tuple(tag_shown(r) for r in i.readings), i.why) for i in preview.interlocks
    )
    failing = [c.why for c in checks if c.outcome != "pass"]
    blocked = preview.problem
    if not blocked and failing:
        blocked = "Start is blocked: " + "; ".join(failing) + "."
    setpoints = tuple(f"{s.tag} = {s.value.source}" for s in operation.setpoints)
    return plant, Panel(item, operation, checks, setpoints, blocked)
