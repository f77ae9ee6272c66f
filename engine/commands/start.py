"""Starting an operation: every interlock evaluated, the operation's setpoints written, and the
attempt recorded whether it was allowed or blocked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dsl.model import Plant, Setpoint, ValueType
from dsl.rules import Unavailable
from dsl.units import format_number, from_si
from engine.access.people import full_name
from engine.commands.checks import interlock_checks, state_problem
from engine.commands.explanations import describe_failure
from engine.errors import Conflict
from engine.floor.items import move, read_item
from engine.floor.runtime import (
    Runtime,
    operation_of,
)
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import StartAttempt, table

_attempts = table(StartAttempt)
_INSERT_ATTEMPT = insert_rows(_attempts, returning=_attempts.c.id)


@dataclass(frozen=True, slots=True)
class StartResult(Jsonable):
    """A start attempt: allowed or not, with each check's result as plain data."""

    item: str
    operation: str
    allowed: bool
    checks: tuple[Mapping[str, Any], ...]
    message: str
    revision: int


def _setpoint(
    runtime: Runtime, plant: Plant, setpoint: Setpoint, env: Mapping[str, Any]
) -> tuple[str | None, float | bool | str | None]:
    """Write one setpoint; (problem or None, the value written in the tag's unit)."""
    tag = plant.tag(setpoint.tag)
    try:
        value = setpoint.value.value(env)
    except Unavailable as missing:
        return f"setpoint for {tag.key} cannot be computed: '{missing.key}' is unavailable", None
    if tag.value_type is ValueType.NUMBER:
        value = from_si(float(value), tag.unit)
    if runtime.setpoints is None:
        return f"no device connection is available to write {tag.key}", value
    return runtime.setpoints.write(tag.key, value, setpoint.tolerance), value


def start_operation(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    now: dt.datetime,
) -> StartResult:
    """Try to start ``operation_id`` on the item; record the attempt, allowed or blocked."""
    sql = Sql(session)
    item = read_item(sql, item_number)
    plant = runtime.plants(session, item.config_version_id)
    _routing, operation = operation_of(plant, item, operation_id)
    problem = state_problem(item, operation.id, starting=True)
    if problem:
        raise Conflict(problem, code="wrong_state")
    full_name(sql, actor)
    _readings_now, env, checks = interlock_checks(
        session, runtime, plant, item=item, operation=operation, actor=actor, now=now
    )
    failing = [c for c in checks if c["outcome"] != "pass"]
    if not failing:
        for setpoint in operation.setpoints:
            tag = plant.tag(setpoint.tag)
            trouble, value = _setpoint(runtime, plant, setpoint, env)
            shown = format_number(value) if isinstance(value, float) else str(value)
            check = {
                "name": f"setpoint {tag.key}",
                "because": trouble or "",
                "implicit": False,
                "outcome": "fail" if trouble else "pass",
                "checks": [
                    {
                        "text": f"{tag.key} = {shown} {tag.unit or ''}".strip(),
                        "outcome": "fail" if trouble else "pass",
                        "readings": [],
                    }
                ],
            }
            checks.append(check)
            if trouble:
                failing.append(check)
                break
    allowed = not failing
    attempt_id = sql.scalar(
        _INSERT_ATTEMPT,
        {
            "item_id": item.id,
            "operation": operation.id,
            "actor": actor,
            "equipment": operation.equipment,
            "allowed": allowed,
            "checks": checks,
            "at": now,
            "config_version_id": item.config_version_id,
        },
    )
    if not allowed:
        reasons = "; ".join(describe_failure(c) for c in failing)
        message = f"Cannot start '{operation.id}' on {item.label}: {reasons}."
        new = {"operation": operation.id, "attempt": attempt_id}
        audit.append(
            sql, [audit.Change(actor, "start_blocked", "item", item.number, None, new, reasons)]
        )
        return StartResult(item.number, operation.id, False, tuple(checks), message, item.revision)
    moved = move(
        sql,
        item,
        actor=actor,
        action="start",
        reason=f"started '{operation.id}'",
        now=now,
        changes={
            "status": "in_progress",
            "operation_started": True,
            "start_attempt_id": attempt_id,
        },
    )
    message = f"Started '{operation.id}' on {item.label}."
    return StartResult(item.number, operation.id, True, tuple(checks), message, moved.revision)
