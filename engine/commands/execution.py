"""Starting and completing operations: the shop floor's two commands.

``start_operation`` evaluates every interlock, writes the operation's setpoints, and records the
attempt whether it was allowed or blocked. ``complete_operation`` is the hot path: it validates the
entered data, checks and consumes components, snapshots the configured tags, evaluates the gates
with their sampling rules, routes the item, and writes it all in the caller's one transaction
with statements compiled once (:mod:`engine.infra.statements`): one read each of the item, the user
and the scanned lots, one insert per table. The item's ``revision`` guard makes a second,
concurrent completion of the same step fail with a Conflict before anything of it is written.
:func:`preview_start` evaluates the start checks without recording anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.model import Gate, Operation, Plant, Setpoint, ValueType
from dsl.rules import Explanation, Outcome, Unavailable
from dsl.units import format_number, from_si
from engine.access.signatures import Signed, Signer, content_hash, cover, store
from engine.commands.bom import (
    ConsumptionInput,
    PlannedConsumption,
    apply_consumptions,
    insert_links,
    plan_consumptions,
)
from engine.errors import Blocked, Conflict
from engine.floor.environment import (
    ItemFacts,
    OperationNeeds,
    OperatorFacts,
    build_environment,
    needs_of,
    reading_quality,
    rule_tags,
    site_today,
)
from engine.floor.items import ItemRow, move, read_item, state_change, update_state
from engine.floor.routing import Route, RouteDecision, decide
from engine.floor.runtime import (
    Runtime,
    equipment_facts,
    full_name,
    operation_of,
    operator_facts,
    stored_rule_value,
)
from engine.floor.sampling import decide as sample
from engine.floor.tagsource import TagValue
from engine.floor.validation import FieldValue, validate
from engine.infra import audit
from engine.infra.statements import Sql, insert_rows
from engine.records.production import (
    GateResult,
    HoldEvent,
    Measurement,
    Nonconformance,
    OperationRun,
    StartAttempt,
    TagCapture,
    table,
)

_attempts = table(StartAttempt)
_runs = table(OperationRun)
_measurements = table(Measurement)
_captures = table(TagCapture)
_gates = table(GateResult)
_holds = table(HoldEvent)
_ncs = table(Nonconformance)

_INSERT_ATTEMPT = insert_rows(_attempts, returning=_attempts.c.id)
_INSERT_RUN = insert_rows(_runs, returning=_runs.c.id)
_INSERT_MEASUREMENTS = insert_rows(_measurements)
_INSERT_CAPTURES = insert_rows(_captures)
_INSERT_GATES = insert_rows(_gates)
_INSERT_HOLD = insert_rows(_holds)
_INSERT_NC = insert_rows(_ncs, returning=_ncs.c.id)

# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class StartResult:
    """A start attempt: allowed or not, with each check's result as plain data."""

    item: str
    operation: str
    allowed: bool
    checks: tuple[Mapping[str, Any], ...]
    message: str
    revision: int

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "operation": self.operation,
            "allowed": self.allowed,
            "checks": [dict(c) for c in self.checks],
            "message": self.message,
            "revision": self.revision,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StartResult:
        return cls(
            data["item"],
            data["operation"],
            data["allowed"],
            tuple(data["checks"]),
            data["message"],
            data["revision"],
        )


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """One gate at a completion: ``outcome`` is pass, fail or skipped (not sampled)."""

    gate: str
    outcome: str
    sampled: bool
    draw: float | None
    because: str

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "outcome": self.outcome,
            "sampled": self.sampled,
            "draw": self.draw,
            "because": self.because,
        }


@dataclass(frozen=True, slots=True)
class CompleteResult:
    """Where a completion sent the item: ``route`` and ``next_operation`` (see RouteDecision)."""

    item: str
    operation: str
    run_id: int
    route: str
    next_operation: str | None
    reason: str
    status: str
    revision: int
    nonconformance_id: int | None
    gates: tuple[GateVerdict, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "operation": self.operation,
            "run_id": self.run_id,
            "route": self.route,
            "next_operation": self.next_operation,
            "reason": self.reason,
            "status": self.status,
            "revision": self.revision,
            "nonconformance_id": self.nonconformance_id,
            "gates": [g.to_json() for g in self.gates],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompleteResult:
        return cls(
            data["item"],
            data["operation"],
            data["run_id"],
            data["route"],
            data["next_operation"],
            data["reason"],
            data["status"],
            data["revision"],
            data["nonconformance_id"],
            tuple(GateVerdict(**g) for g in data["gates"]),
        )


# ---------------------------------------------------------------- explanations


def explanation_json(
    name: str, because: str, explanation: Explanation, *, implicit: bool = False
) -> dict[str, Any]:
    """A rule's verdict as plain data for records and screens."""
    return {
        "name": name,
        "because": because,
        "implicit": implicit,
        "outcome": explanation.outcome.value,
        "checks": [
            {
                "text": c.text,
                "outcome": c.outcome.value,
                "readings": [
                    {"name": r.name, "display": r.display, "available": r.available}
                    for r in c.readings
                ],
            }
            for c in explanation.checks
        ],
    }


def _seen(check: Mapping[str, Any]) -> str:
    """What a failed check saw, e.g. ``press1.pressure = 50 bar``."""
    shown: list[str] = []
    for sub in check["checks"]:
        if sub["outcome"] == "pass":
            continue
        for reading in sub["readings"]:
            text = (
                f"{reading['name']} = {reading['display']}"
                if reading["available"]
                else f"{reading['name']} is unavailable"
            )
            if text not in shown:
                shown.append(text)
    return ", ".join(shown)


def _describe_failure(check: Mapping[str, Any]) -> str:
    seen = _seen(check)
    text = str(check["because"] or check["name"])
    if check["outcome"] == "unknown":
        text += " (cannot be checked: " + (seen or "a value is unavailable") + ")"
    elif seen:
        text += f" ({seen})"
    return text


# ---------------------------------------------------------------- shared


def _state_problem(item: ItemRow, operation: str, *, starting: bool) -> str | None:
    """Why the item cannot start/complete ``operation`` now, or None."""
    verb = "start" if starting else "complete"
    if item.status == "on_hold":
        return (
            f"{item.label} is on hold (reason: {item.status_reason}); a supervisor must release "
            f"it before it can {verb} '{operation}'."
        )
    if item.status == "nonconforming":
        return (
            f"{item.label} has an open nonconformance ({item.status_reason}); quality must "
            f"disposition it before it can {verb} '{operation}'."
        )
    if item.status == "completed":
        return f"{item.label} is already completed; it has no operation left to {verb}."
    if item.status == "scrapped":
        return f"{item.label} was scrapped ({item.status_reason}); it cannot be worked on."
    if item.current_operation != operation:
        return (
            f"{item.label} waits at '{item.current_operation}', not '{operation}'; "
            f"{'start' if starting else 'complete'} '{item.current_operation}' first."
        )
    if starting and item.operation_started:
        return (
            f"'{operation}' on {item.label} is already started (by {item.started_by}); "
            "complete it, or reload to see who is working on it."
        )
    if not starting and not item.operation_started:
        return f"'{operation}' on {item.label} is not started; start it first."
    return None


def _readings(runtime: Runtime, needs: OperationNeeds) -> Mapping[str, TagValue]:
    return runtime.tags.read(needs.tags) if needs.tags else {}


def _earlier_fields(
    session: Session, plant: Plant, item: ItemRow, before: str | None
) -> dict[str, Any]:
    """The newest value of every field entered at earlier runs of the item, as rules see it."""
    rows = session.execute(
        select(
            _runs.c.operation,
            _measurements.c.field,
            _measurements.c.value_num,
            _measurements.c.value_text,
            _measurements.c.unit,
        )
        .select_from(_measurements.join(_runs, _runs.c.id == _measurements.c.run_id))
        .where(_runs.c.item_id == item.id)
        .order_by(_runs.c.id)
    )
    routing = plant.routing_for(item.product)
    values: dict[str, Any] = {}
    for row in rows:
        if row.operation == before:
            continue
        field = routing.operation(row.operation).field(row.field)
        if field is not None:
            value = stored_rule_value(row.value_num, row.value_text, row.unit, field.type)
            values[keys.field_key(row.operation, row.field)] = value
    return values


def _facts(
    session: Session,
    runtime: Runtime,
    *,
    plant: Plant,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
    starting: bool,
    current: Mapping[str, Any],
) -> tuple[Mapping[str, TagValue], dict[str, Any]]:
    """The live readings and the rule environment for starting (or completing) ``operation`` on
    ``item``, reading only what that step's rules need."""
    needs = needs_of(plant, operation, starting=starting)
    readings = _readings(runtime, needs)
    operator = (
        operator_facts(session, actor, site_today(plant, now))
        if needs.operator
        else OperatorFacts(actor, frozenset(), frozenset())
    )
    equipment = (
        equipment_facts(session, plant, operation.equipment, readings, now)
        if operation.equipment and needs.equipment
        else None
    )
    fields = current
    if needs.earlier_fields:
        fields = {**_earlier_fields(session, plant, item, operation.id), **current}
    return readings, build_environment(
        plant,
        needs,
        now=now,
        readings=readings,
        operator=operator,
        equipment=equipment,
        item=ItemFacts(item.number, item.quantity, item.rework_total),
        fields=fields,
    )


# ---------------------------------------------------------------- start


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


def _interlock_checks(
    session: Session,
    runtime: Runtime,
    plant: Plant,
    *,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
) -> tuple[Mapping[str, TagValue], dict[str, Any], list[dict[str, Any]]]:
    """Every interlock of ``operation`` evaluated now: the readings, the environment, and each
    interlock's verdict as plain data (see :func:`explanation_json`)."""
    readings, env = _facts(
        session,
        runtime,
        plant=plant,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        starting=True,
        current={},
    )
    checks = [
        explanation_json(i.name, i.because, i.rule.explain(env), implicit=i.implicit)
        for i in operation.interlocks
    ]
    return readings, env, checks


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
    problem = _state_problem(item, operation.id, starting=True)
    if problem:
        raise Conflict(problem, code="wrong_state")
    full_name(sql, actor)
    _readings_now, env, checks = _interlock_checks(
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
        reasons = "; ".join(_describe_failure(c) for c in failing)
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


@dataclass(frozen=True, slots=True)
class InterlockPreview:
    """One interlock evaluated now: its verdict as plain data (name, because, outcome and each
    sub-check with the values it read, see :func:`explanation_json`) and the tags it reads."""

    check: Mapping[str, Any]
    tags: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return bool(self.check["outcome"] == "pass")


@dataclass(frozen=True, slots=True)
class StartPreview:
    """What starting the operation would find now, without starting it or recording anything:
    why the item's state forbids it (``problem``, "" when it does not), each interlock, and the
    live readings they were evaluated on (by tag key), taken at ``at``."""

    item: str
    operation: str
    problem: str
    interlocks: tuple[InterlockPreview, ...]
    readings: Mapping[str, TagValue]
    at: dt.datetime

    @property
    def allowed(self) -> bool:
        """True when the state allows a start and every interlock passes (setpoint writes,
        which happen only at a real start, can still refuse it)."""
        return not self.problem and all(i.passed for i in self.interlocks)

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "operation": self.operation,
            "allowed": self.allowed,
            "problem": self.problem,
            "checks": [{**i.check, "tags": list(i.tags)} for i in self.interlocks],
            "at": self.at.isoformat(),
        }


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
    readings, _env, checks = _interlock_checks(
        session, runtime, plant, item=item, operation=operation, actor=actor, now=now
    )
    interlocks = tuple(
        InterlockPreview(check, tuple(sorted(rule_tags(interlock.rule.keys))))
        for check, interlock in zip(checks, operation.interlocks, strict=True)
    )
    problem = _state_problem(item, operation.id, starting=True) or ""
    return StartPreview(item.number, operation.id, problem, interlocks, readings, now)


# ---------------------------------------------------------------- complete


def _gate_verdicts(
    gates: Sequence[Gate], item: ItemRow, env: Mapping[str, Any], operation: Operation
) -> tuple[list[GateVerdict], list[dict[str, Any]], list[Gate]]:
    """Evaluate sampled gates: verdicts, rows' check data, and the failed gates.

    A sampled gate that cannot be decided (a tag is unavailable) blocks the completion."""
    verdicts: list[GateVerdict] = []
    details: list[dict[str, Any]] = []
    failed: list[Gate] = []
    for gate in gates:
        decision = sample(
            gate.sampling, ordinal=item.ordinal, item_number=item.number, gate_name=gate.name
        )
        if not decision.sampled:
            verdicts.append(GateVerdict(gate.name, "skipped", False, decision.draw, ""))
            details.append({})
            continue
        outcome = gate.check.evaluate(env)
        if outcome is Outcome.PASS:
            verdicts.append(GateVerdict(gate.name, "pass", True, decision.draw, ""))
            details.append({})
            continue
        data = explanation_json(gate.name, gate.because, gate.check.explain(env))
        if outcome is Outcome.UNKNOWN:
            raise Blocked(
                f"Cannot complete '{operation.id}' on {item.label}: gate '{gate.name}' cannot be "
                f"decided ({_seen(data) or 'a value is unavailable'}); check the device "
                "connection and try again.",
                checks=[data],
                code="gate_unknown",
            )
        verdicts.append(GateVerdict(gate.name, "fail", True, decision.draw, gate.because))
        details.append(data)
        failed.append(gate)
    return verdicts, details, failed


def _text_of(value: object) -> str:
    """A captured value as people read it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(float(value))
    return str(value)


def _capture_rows(
    plant: Plant, operation: Operation, readings: Mapping[str, TagValue], now: dt.datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in operation.capture:
        tag = plant.tag(name)
        reading = readings.get(name)
        value = reading.value if reading else None
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        rows.append(
            {
                "tag": name,
                "value_num": number,
                "value_text": _text_of(value),
                "unit": tag.unit,
                "quality": reading_quality(tag, reading, now) if reading else "bad",
                "source_time": reading.source_time if reading else None,
            }
        )
    return rows


def _new_state(decision: RouteDecision, item: ItemRow) -> dict[str, Any]:
    """The item's columns after routing."""
    route = decision.route
    changes: dict[str, Any] = {"operation_started": False, "start_attempt_id": None}
    if route is Route.NEXT:
        changes |= {"status": "queued", "current_operation": decision.operation}
    elif route is Route.COMPLETED:
        changes |= {"status": "completed", "current_operation": None, "status_reason": ""}
    elif route is Route.REWORK:
        counts = dict(item.rework_counts)
        target = decision.operation or ""
        counts[target] = counts.get(target, 0) + 1
        changes |= {
            "status": "queued",
            "current_operation": target,
            "rework_counts": counts,
            "status_reason": decision.reason,
        }
    elif route is Route.SCRAP:
        changes |= {"status": "scrapped", "current_operation": None}
    elif route is Route.HOLD:
        changes |= {"status": "on_hold", "current_operation": decision.operation}
    else:
        changes |= {"status": "nonconforming", "current_operation": decision.operation}
    if route in (Route.SCRAP, Route.HOLD, Route.NONCONFORMANCE):
        changes["status_reason"] = decision.reason
    return changes


def complete_operation(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    now: dt.datetime,
    data: Mapping[str, Any],
    units: Mapping[str, str] | None = None,
    consumptions: Sequence[ConsumptionInput] = (),
    signers: Sequence[Signer] = (),
    expected_revision: int | None = None,
) -> CompleteResult:
    """Complete the started operation on the item; everything in the caller's transaction.

    ``signers`` (already re-authenticated) must cover the operation's signature requirements."""
    sql = Sql(session)
    item = read_item(sql, item_number)
    if expected_revision is not None and expected_revision != item.revision:
        raise Conflict(
            f"{item.label} was changed by someone else a moment ago (it is now at "
            f"'{item.current_operation or item.status}'); reload to see its current step.",
            code="stale_revision",
        )
    plant = runtime.plants(session, item.config_version_id)
    routing, operation = operation_of(plant, item, operation_id)
    problem = _state_problem(item, operation.id, starting=False)
    if problem:
        raise Conflict(_completed_meanwhile(session, item, operation.id) or problem)
    full_name(sql, actor)
    signed = (
        cover(operation.signatures, signers, f"'{operation.id}' on {item.label}")
        if operation.signatures or signers
        else ()
    )
    values = validate(operation, data, units)
    current = {keys.field_key(operation.id, v.field.name): v.rule_value for v in values}
    planned = plan_consumptions(
        sql,
        plant=plant,
        operation=operation,
        item=item,
        inputs=consumptions,
        today=site_today(plant, now),
    )
    readings, env = _facts(
        session,
        runtime,
        plant=plant,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        starting=False,
        current=current,
    )
    verdicts, details, failed = _gate_verdicts(operation.gates, item, env, operation)
    decision = decide(routing, operation, failed, item.rework_counts)
    return _write_completion(
        sql,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        values=values,
        planned=planned,
        captures=_capture_rows(plant, operation, readings, now),
        verdicts=verdicts,
        details=details,
        decision=decision,
        signed=signed,
    )


def _completed_meanwhile(session: Session, item: ItemRow, operation: str) -> str | None:
    """A friendlier message when the same step was just completed by someone else."""
    last = session.execute(
        select(_runs.c.operation, _runs.c.operator)
        .where(_runs.c.item_id == item.id)
        .order_by(_runs.c.id.desc())
        .limit(1)
    ).one_or_none()
    if last is None or last.operation != operation or item.operation_started:
        return None
    return (
        f"'{operation}' on {item.label} was completed by {last.operator} a moment ago; "
        "reload to see its current step."
    )


def _write_completion(
    sql: Sql,
    *,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
    values: Sequence[FieldValue],
    planned: Sequence[PlannedConsumption],
    captures: list[dict[str, Any]],
    verdicts: Sequence[GateVerdict],
    details: Sequence[dict[str, Any]],
    decision: RouteDecision,
    signed: Sequence[Signed],
) -> CompleteResult:
    version = item.config_version_id
    changes = _new_state(decision, item)
    moved = update_state(sql, item, changes, now)
    reason = f"completed '{operation.id}': {decision.route.value}" + (
        f" ({decision.reason})" if decision.reason else ""
    )
    changed = [state_change(item, moved, actor=actor, action="complete", reason=reason)]
    changed += apply_consumptions(sql, planned, item, operation.id, actor)
    run_id: int = sql.scalar(
        _INSERT_RUN,
        {
            "item_id": item.id,
            "operation": operation.id,
            "start_attempt_id": item.start_attempt_id,
            "operator": actor,
            "equipment": operation.equipment,
            "started_at": item.started_at or now,
            "completed_at": now,
            "route": decision.route.value,
            "route_operation": decision.operation,
            "route_reason": decision.reason,
            "config_version_id": version,
        },
    )
    sql.executemany(
        _INSERT_MEASUREMENTS,
        [
            {
                "run_id": run_id,
                "field": v.field.name,
                "value_num": v.number,
                "value_text": v.text,
                "unit": v.field.unit,
            }
            for v in values
        ],
    )
    sql.executemany(_INSERT_CAPTURES, [{**c, "run_id": run_id} for c in captures])
    sql.executemany(
        _INSERT_GATES,
        [
            {
                "run_id": run_id,
                "gate": v.gate,
                "outcome": v.outcome,
                "sampled": v.sampled,
                "draw": v.draw,
                "checks": detail.get("checks", []),
            }
            for v, detail in zip(verdicts, details, strict=True)
        ],
    )
    insert_links(sql, planned, item, run_id, version)
    nc_id, nc_change = _route_records(
        sql,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        decision=decision,
        run_id=run_id,
    )
    if nc_change is not None:
        changed.append(nc_change)
    if signed:
        content = {
            "item": item.number,
            "operation": operation.id,
            "run": run_id,
            "data": {v.field.name: v.text for v in values},
            "gates": [v.to_json() for v in verdicts],
            "route": decision.route.value,
            "config_version_id": version,
        }
        changed += store(
            sql,
            signed,
            record_type="operation_run",
            record_id=run_id,
            digest=content_hash(content),
            now=now,
            version_id=version,
        )
    audit.append(sql, changed)
    return CompleteResult(
        item=item.number,
        operation=operation.id,
        run_id=run_id,
        route=decision.route.value,
        next_operation=decision.operation,
        reason=decision.reason,
        status=changes["status"],
        revision=moved.revision,
        nonconformance_id=nc_id,
        gates=tuple(verdicts),
    )


def _route_records(
    sql: Sql,
    *,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
    decision: RouteDecision,
    run_id: int,
) -> tuple[int | None, audit.Change | None]:
    """The hold event or nonconformance a failed gate opens: the nonconformance's id and its
    audit change."""
    if decision.route is Route.HOLD:
        sql.execute(
            _INSERT_HOLD,
            {
                "item_id": item.id,
                "action": "hold",
                "source": "gate",
                "actor": actor,
                "reason": decision.reason,
                "at": now,
                "config_version_id": item.config_version_id,
            },
        )
    if decision.route is not Route.NONCONFORMANCE:
        return None, None
    nc_id: int = sql.scalar(
        _INSERT_NC,
        {
            "item_id": item.id,
            "run_id": run_id,
            "operation": operation.id,
            "gate": decision.gate,
            "defect_code": decision.gate or "gate",
            "description": decision.reason,
            "continue_at": decision.operation,
            "opened_by": actor,
            "opened_at": now,
            "config_version_id": item.config_version_id,
        },
    )
    new = {"item": item.number, "operation": operation.id, "gate": decision.gate}
    return nc_id, audit.Change(actor, "open", "nonconformance", nc_id, None, new, decision.reason)
