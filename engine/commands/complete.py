"""Completing an operation, the shop floor's hot path: ``complete_operation``: it validates the
entered data, checks and consumes components, snapshots the configured tags, evaluates the gates
with their sampling rules, routes the item, and writes it all in the caller's one transaction
with statements compiled once (:mod:`engine.infra.statements`): one read each of the item, the user
and the scanned lots, one insert per table. The item's ``revision`` guard makes a second,
concurrent completion of the same step fail with a Conflict before anything of it is written.

A signed completion is checked twice: :func:`check_completion` (a read, before the signers are
re-authenticated, so that a request that is wrong anyway costs no password check), then
:func:`complete_operation` in the write transaction, which checks everything again as it is then
and binds the signatures to the run: its data, gates, route and the consumed lots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.model import Gate, Operation, Plant, Routing
from dsl.rules import Outcome
from dsl.units import format_number
from engine.access.people import full_name
from engine.access.signatures import Signed, Signer, content_hash, cover, store
from engine.commands import deviations
from engine.commands.bom import (
    ConsumptionInput,
    PlannedConsumption,
    apply_consumptions,
    insert_links,
    plan_consumptions,
)
from engine.commands.checks import RuleFacts, state_problem, step_facts
from engine.commands.explanations import rule_json, what_was_seen
from engine.commands.spc_signals import SpcSignalInfo, chart_completion
from engine.commands.tools import count_cycle
from engine.errors import Blocked, Conflict
from engine.floor.environment import (
    reading_quality,
    site_today,
)
from engine.floor.items import ItemRow, read_item, state_change, update_state
from engine.floor.routing import Route, RouteDecision, decide
from engine.floor.runtime import (
    Runtime,
    operation_of,
)
from engine.floor.sampling import decide as sample
from engine.floor.tagsource import TagValue
from engine.floor.validation import FILE_TYPES, FieldValue, validate
from engine.infra import attachments, audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import (
    ITEM_SUBJECT,
    GateResult,
    HoldEvent,
    Measurement,
    Nonconformance,
    OperationRun,
    TagCapture,
    table,
)

_runs = table(OperationRun)
_measurements = table(Measurement)
_captures = table(TagCapture)
_gates = table(GateResult)
_holds = table(HoldEvent)
_ncs = table(Nonconformance)

_INSERT_RUN = insert_rows(_runs, returning=_runs.c.id)
_INSERT_MEASUREMENTS = insert_rows(_measurements)
_INSERT_CAPTURES = insert_rows(_captures)
_INSERT_GATES = insert_rows(_gates)
_INSERT_HOLD = insert_rows(_holds)
_INSERT_NC = insert_rows(_ncs, returning=_ncs.c.id)


@dataclass(frozen=True, slots=True)
class GateVerdict(Jsonable):
    """One gate at a completion: ``outcome`` is pass, fail, skipped (not sampled) or deviation
    (failed, but accepted under a planned deviation that ``because`` names)."""

    gate: str
    outcome: str
    sampled: bool
    draw: float | None
    because: str


@dataclass(frozen=True, slots=True)
class CompleteResult(Jsonable):
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
    spc: tuple[SpcSignalInfo, ...] = ()
    """Control-chart signals this completion raised (see :mod:`engine.commands.spc_signals`)."""


def _gate_verdicts(
    gates: Sequence[Gate], item: ItemRow, facts: RuleFacts, operation: Operation
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
        outcome = gate.check.evaluate(facts.env)
        if outcome is Outcome.PASS:
            verdicts.append(GateVerdict(gate.name, "pass", True, decision.draw, ""))
            details.append({})
            continue
        data = rule_json(gate.name, gate.because, gate.check, facts.env, reasons=facts.reasons)
        if outcome is Outcome.UNKNOWN:
            raise Blocked(
                f"Cannot complete '{operation.id}' on {item.label}: gate '{gate.name}' cannot be "
                f"decided ({what_was_seen(data) or 'a value is unavailable'}); check the device "
                "connection and try again.",
                checks=[data],
                code="gate_unknown",
            )
        verdicts.append(GateVerdict(gate.name, "fail", True, decision.draw, gate.because))
        details.append(data)
        failed.append(gate)
    return verdicts, details, failed


def _under_deviation(
    session: Session,
    item: ItemRow,
    operation: Operation,
    facts: RuleFacts,
    now: dt.datetime,
    *,
    verdicts: list[GateVerdict],
    details: list[dict[str, Any]],
    failed: list[Gate],
) -> list[Gate]:
    """The failed gates a planned deviation in force does not accept; each one it accepts is
    recorded as ``deviation`` with the deviation's number (``verdicts`` and ``details`` are
    updated in place)."""
    found = deviations.in_force(
        session, product=item.product, operation=operation.id,
        work_order_id=item.work_order_id, now=now,
    )  # fmt: skip
    still: list[Gate] = []
    for gate in failed:
        accepted = deviations.accepted_by(found, gate.name, facts.env)
        if accepted is None:
            still.append(gate)
            continue
        at = next(i for i, v in enumerate(verdicts) if v.gate == gate.name)
        verdicts[at] = replace(verdicts[at], outcome="deviation", because=accepted.summary())
        checks = [*details[at].get("checks", []), {"deviation": accepted.number}]
        details[at] = {**details[at], "checks": checks}
    return still


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


@dataclass(frozen=True, slots=True)
class _Checked:
    """A completion request found valid (signatures aside), with what recording it needs."""

    item: ItemRow
    plant: Plant
    routing: Routing
    operation: Operation
    values: tuple[FieldValue, ...]
    current: dict[str, Any]
    planned: list[PlannedConsumption]


def _check(
    session: Session,
    sql: Sql,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    now: dt.datetime,
    data: Mapping[str, Any],
    units: Mapping[str, str] | None,
    consumptions: Sequence[ConsumptionInput],
    expected_revision: int | None,
) -> _Checked:
    """The item, its revision and state, the operation, the actor, the entered data and the
    scanned components, checked as they are now; reads only."""
    item = read_item(sql, item_number)
    if expected_revision is not None and expected_revision != item.revision:
        raise Conflict(
            f"{item.label} was changed by someone else a moment ago (it is now at "
            f"'{item.current_operation or item.status}'); reload to see its current step.",
            code="stale_revision",
        )
    plant = runtime.plants(session, item.config_version_id)
    routing, operation = operation_of(plant, item, operation_id)
    problem = state_problem(item, operation.id, starting=False)
    if problem:
        raise Conflict(_completed_meanwhile(session, item, operation.id) or problem)
    full_name(sql, actor)
    values = validate(operation, data, units)
    for stored in (v for v in values if v.field.type in FILE_TYPES):
        attachments.require_stored(
            session, str(stored.value), field=stored.field.name, photo=stored.field.type == "photo"
        )
    current = {keys.field_key(operation.id, v.field.name): v.rule_value for v in values}
    planned = plan_consumptions(
        sql,
        plant=plant,
        operation=operation,
        item=item,
        inputs=consumptions,
        today=site_today(plant, now),
    )
    return _Checked(item, plant, routing, operation, values, current, planned)


def check_completion(
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
    expected_revision: int | None = None,
) -> None:
    """Everything :func:`complete_operation` checks before the signatures (the item, its state,
    the operation, the actor, the entered data, the scanned components), writing nothing: the
    error a completion would raise, before any signer's password is checked."""
    _check(
        session, Sql(session), runtime, item_number=item_number, operation_id=operation_id,
        actor=actor, now=now, data=data, units=units, consumptions=consumptions,
        expected_revision=expected_revision,
    )  # fmt: skip


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

    ``signers`` (already re-authenticated) must cover the operation's signature requirements;
    they are matched once the request is otherwise valid (see :func:`check_completion`)."""
    sql = Sql(session)
    checked = _check(
        session, sql, runtime, item_number=item_number, operation_id=operation_id,
        actor=actor, now=now, data=data, units=units, consumptions=consumptions,
        expected_revision=expected_revision,
    )  # fmt: skip
    item, plant, operation = checked.item, checked.plant, checked.operation
    signed = (
        cover(operation.signatures, signers, f"'{operation.id}' on {item.label}")
        if operation.signatures or signers
        else ()
    )
    facts = step_facts(
        session,
        runtime,
        plant=plant,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        starting=False,
        current=checked.current,
    )
    verdicts, details, failed = _gate_verdicts(operation.gates, item, facts, operation)
    if failed:
        failed = _under_deviation(
            session, item, operation, facts, now, verdicts=verdicts, details=details, failed=failed
        )
    decision = decide(checked.routing, operation, failed, item.rework_counts)
    captures = _capture_rows(plant, operation, facts.readings, now)
    result = _write_completion(
        sql,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        values=checked.values,
        planned=checked.planned,
        captures=captures,
        verdicts=verdicts,
        details=details,
        decision=decision,
        signed=signed,
    )
    if operation.tool is not None:
        count_cycle(
            session, start_attempt_id=item.start_attempt_id, run_id=result.run_id,
            item_number=item.number, actor=actor, now=now,
        )  # fmt: skip
    if not operation.spc:
        return result
    charted = chart_completion(
        sql, routing=checked.routing.name, operation=operation, item_number=item.number,
        run_id=result.run_id, values=checked.values, captures=captures, actor=actor, now=now,
    )  # fmt: skip
    return replace(
        result, status=charted.item.status, revision=charted.item.revision, spc=charted.signals
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
            "consumed": [
                {"part": p.part, "lot": p.number, "quantity": p.quantity, "unit": p.unit}
                for p in planned
            ],
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
            **ITEM_SUBJECT,
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
