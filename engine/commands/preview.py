"""What starting an operation would find now, without starting it or recording anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dsl.tagenv import rule_tags
from engine.commands.checks import interlock_checks, state_problem
from engine.commands.explanations import describe_failure, has_reasons
from engine.floor.environment import ReadingSeen, reading_seen
from engine.floor.items import read_item
from engine.floor.runtime import (
    Runtime,
    operation_of,
)
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql


@dataclass(frozen=True, slots=True)
class InterlockPreview:
    """One interlock evaluated now: its verdict as plain data (name, because, outcome and each
    sub-check with the values it read and why any is unavailable, see :func:`rule_json`) and the
    live readings of the tags it reads, as the rules saw them."""

    check: Mapping[str, Any]
    readings: tuple[ReadingSeen, ...]

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.readings)

    @property
    def passed(self) -> bool:
        return bool(self.check["outcome"] == "pass")

    @property
    def why(self) -> str:
        """Why this interlock blocks a start, for the operator: "" when it passes; its reason
        when it fails on values a screen shows next to it ("Press pressure is outside its 60–80
        bar window"); as a refused start says it when a value it needs is unavailable, "… (cannot
        be checked: press1.pressure is unavailable: press1: connection refused (since 12 s
        ago))", or is what it is for that reason, "Equipment crimp-press-1 is down
        (equipment.state = down because press1.fault is unavailable: …)"."""
        if self.passed:
            return ""
        if self.check["outcome"] == "unknown" or has_reasons(self.check):
            return describe_failure(self.check)
        return str(self.check["because"] or self.check["name"])


@dataclass(frozen=True, slots=True)
class StartPreview(Jsonable):
    """What starting the operation would find now, without starting it or recording anything:
    why the item's state forbids it (``problem``, "" when it does not) and each interlock with
    the live readings it was evaluated on, taken at ``at``."""

    item: str
    operation: str
    problem: str
    interlocks: tuple[InterlockPreview, ...]
    at: dt.datetime

    @property
    def allowed(self) -> bool:
        """True when the state allows a start and every interlock passes (setpoint writes,
        which happen only at a real start, can still refuse it)."""
        return not self.problem and all(i.passed for i in self.interlocks)

    @property
    def checks(self) -> tuple[dict[str, Any], ...]:
        """Each interlock's verdict with the tags it reads, as the API shows them."""
        return tuple({**i.check, "tags": list(i.tags)} for i in self.interlocks)

    json_properties = ("allowed", "checks")
    json_hidden = frozenset({"interlocks"})


def preview_start(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    now: dt.datetime,
) -> StartPreview:
    """Evaluate the start checks of ``operation_id`` on the item as ``actor`` at ``now``; writes
    nothing (no attempt, no setpoint). The item's state problem is reported, not raised."""
    item = read_item(Sql(session), item_number)
    plant = runtime.plants(session, item.config_version_id)
    _routing, operation = operation_of(plant, item, operation_id)
    readings, _env, checks = interlock_checks(
        session, runtime, plant, item=item, operation=operation, actor=actor, now=now
    )
    interlocks = tuple(
        InterlockPreview(
            check,
            tuple(
                reading_seen(plant.tag(key), readings.get(key), now)
                for key in sorted(rule_tags(interlock.rule.keys))
            ),
        )
        for check, interlock in zip(checks, operation.interlocks, strict=True)
    )
    problem = state_problem(item, operation.id, starting=True) or ""
    return StartPreview(item.number, operation.id, problem, interlocks, now)
