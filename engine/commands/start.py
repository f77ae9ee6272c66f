"""Starting an operation, in three steps so that the database is never held while a device is
slow: :func:`decide` reads and evaluates every interlock (no write lock), :func:`write_setpoints`
writes the operation's setpoints (no transaction open), and :func:`record` records the attempt,
allowed or blocked, in a short transaction whose item update names the revision decided on. When
that record fails after a setpoint was written, :func:`record_unrecorded` keeps a blocked attempt
and an audit row saying so."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dsl.model import Operation, Plant, Setpoint, ValueType
from dsl.rules import Unavailable
from dsl.units import format_number, from_si
from engine.access.people import full_name
from engine.commands import first_articles
from engine.commands.checks import interlock_checks, state_problem
from engine.commands.explanations import describe_failure
from engine.commands.spc_signals import start_checks
from engine.commands.tools import record_scan, tool_checks
from engine.errors import Conflict
from engine.floor.environment import site_today
from engine.floor.items import ItemRow, move, read_item
from engine.floor.runtime import Runtime, operation_of
from engine.floor.tagsource import Scalar
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import StartAttempt, table

_attempts = table(StartAttempt)
_INSERT_ATTEMPT = insert_rows(_attempts, returning=_attempts.c.id)
NOT_RECORDED = "start not recorded"


@dataclass(frozen=True, slots=True)
class StartResult(Jsonable):
    """A start attempt: allowed or not, with each check's result as plain data."""

    item: str
    operation: str
    allowed: bool
    checks: tuple[Mapping[str, Any], ...]
    message: str
    revision: int


@dataclass(frozen=True, slots=True)
class StartDecision:
    """What a start found: the item as read (its revision guards the record), each check's
    result as plain data, and the setpoints written so far (key → value in the tag's unit)."""

    item: ItemRow
    operation: Operation
    plant: Plant
    env: Mapping[str, Any]
    checks: tuple[dict[str, Any], ...]
    written: Mapping[str, Scalar] = dataclasses.field(default_factory=dict)
    tool: str | None = None
    """The tool scanned for an operation that requires one."""

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c["outcome"] != "pass"]


def decide(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    now: dt.datetime,
    tool: str | None = None,
) -> StartDecision:
    """Read the item and evaluate every interlock of ``operation_id`` (in a read session), and
    the checks of the ``tool`` scanned when the operation requires one."""
    sql = Sql(session)
    item = read_item(sql, item_number)
    plant = runtime.plants(session, item.config_version_id)
    routing, operation = operation_of(plant, item, operation_id)
    problem = state_problem(item, operation.id, starting=True)
    if problem:
        raise Conflict(problem, code="wrong_state")
    full_name(sql, actor)
    _readings, env, checks = interlock_checks(
        session, runtime, plant, item=item, operation=operation, actor=actor, now=now
    )
    if any(chart.on_signal == "block" for chart in operation.spc):
        checks += start_checks(session, routing.name, operation.id)
    if operation.tool is not None:
        checks += tool_checks(session, plant, operation, tool, site_today(plant, now))
    if operation.first_article:
        checks += first_articles.start_checks(session, item, operation)
    return StartDecision(item, operation, plant, env, tuple(checks), tool=tool)


def _setpoint(
    runtime: Runtime, plant: Plant, setpoint: Setpoint, env: Mapping[str, Any]
) -> tuple[str | None, Scalar | None]:
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


def write_setpoints(runtime: Runtime, decision: StartDecision) -> StartDecision:
    """Write the operation's setpoints when every interlock passed, stopping at the first that
    fails; the decision with a check per setpoint tried. Opens no transaction."""
    if decision.failing:
        return decision
    checks = list(decision.checks)
    written: dict[str, Scalar] = {}
    for setpoint in decision.operation.setpoints:
        tag = decision.plant.tag(setpoint.tag)
        trouble, value = _setpoint(runtime, decision.plant, setpoint, decision.env)
        shown = format_number(value) if isinstance(value, float) else str(value)
        outcome = "fail" if trouble else "pass"
        checks.append(
            {
                "name": f"setpoint {tag.key}",
                "because": trouble or "",
                "implicit": False,
                "outcome": outcome,
                "checks": [
                    {
                        "text": f"{tag.key} = {shown} {tag.unit or ''}".strip(),
                        "outcome": outcome,
                        "readings": [],
                    }
                ],
            }
        )
        if trouble:
            break
        if value is not None:
            written[tag.key] = value
    return dataclasses.replace(decision, checks=tuple(checks), written=written)


def _attempt(sql: Sql, decision: StartDecision, *, actor: str, now: dt.datetime) -> int:
    item = decision.item
    attempt_id: int = sql.scalar(
        _INSERT_ATTEMPT,
        {
            "item_id": item.id,
            "operation": decision.operation.id,
            "actor": actor,
            "equipment": decision.operation.equipment,
            "allowed": not decision.failing,
            "checks": list(decision.checks),
            "at": now,
            "config_version_id": item.config_version_id,
        },
    )
    return attempt_id


def record(
    session: Session, decision: StartDecision, *, actor: str, now: dt.datetime
) -> StartResult:
    """Record the attempt; an allowed one moves the item if it is still at the revision decided
    on (else a Conflict, and nothing is recorded)."""
    sql = Sql(session)
    item, operation = decision.item, decision.operation
    attempt_id = _attempt(sql, decision, actor=actor, now=now)
    checks = decision.checks
    if decision.failing:
        reasons = "; ".join(describe_failure(c) for c in decision.failing)
        message = f"Cannot start '{operation.id}' on {item.label}: {reasons}."
        new = {"operation": operation.id, "attempt": attempt_id}
        audit.append(
            sql, [audit.Change(actor, "start_blocked", "item", item.number, None, new, reasons)]
        )
        return StartResult(item.number, operation.id, False, checks, message, item.revision)
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
    if operation.tool is not None and decision.tool is not None:
        record_scan(
            session, plant=decision.plant, attempt_id=attempt_id, item_id=item.id,
            item_number=item.number, operation=operation.id, tool=decision.tool.strip(),
            actor=actor, now=now, version_id=item.config_version_id,
        )  # fmt: skip
    message = f"Started '{operation.id}' on {item.label}."
    return StartResult(item.number, operation.id, True, checks, message, moved.revision)


def record_unrecorded(
    session: Session, decision: StartDecision, *, actor: str, now: dt.datetime, why: str
) -> None:
    """The compensating record for setpoints written to a device whose start could not be
    recorded: a blocked attempt with a last check saying so, and an audit row."""
    keys = ", ".join(decision.written)
    were = "was" if len(decision.written) == 1 else "were"
    because = f"{keys} {were} written to the device, but the start was not recorded: {why}"
    check = {"name": NOT_RECORDED, "because": because, "implicit": False, "outcome": "fail",
             "checks": []}  # fmt: skip
    unrecorded = dataclasses.replace(decision, checks=(*decision.checks, check))
    sql = Sql(session)
    attempt_id = _attempt(sql, unrecorded, actor=actor, now=now)
    new = {
        "operation": decision.operation.id,
        "attempt": attempt_id,
        "setpoints": dict(decision.written),
    }
    change = audit.Change(actor, "start_not_recorded", "item", decision.item.number, None, new, why)
    audit.append(sql, [change])
