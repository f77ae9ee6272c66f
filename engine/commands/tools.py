"""Tools and fixtures: the checks a scanned tool must pass at start, the cycles each completion
uses, signed calibrations and status changes (hold, release, retire).

An operation that names a tool type (``tool: applicator-22``) has one of its tools scanned at
start. The scan is checked like the implicit interlocks of equipment, in the same shape: the tool
is of that type, not held or retired, within its life, and its calibration is not overdue. Fail
safe: no scan, an unknown id, or a tool never calibrated (when its type declares calibration)
blocks the start. An allowed start records the scan; its completion records one cycle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Operation, Plant, ToolType
from engine.access.signatures import Signer
from engine.commands import calibration, care_dues, versions
from engine.commands.calibration import CalibrationInput
from engine.errors import Invalid, NotFound
from engine.floor.environment import site_today
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.tools import ToolCalibration, ToolScan, ToolStatusChange, ToolUse

DAY = dt.timedelta(days=1)
STATUS_ACTIONS = {"hold": "held", "release": "active", "retire": "retired"}
"""What each status change makes of a tool."""


@dataclass(frozen=True, slots=True)
class ToolStatus(Jsonable):
    """One physical tool now: its type, status, cycles used against its life, calibration."""

    tool: str
    tool_type: str
    kind: str
    status: str
    status_reason: str
    cycles: int
    life: int | None
    life_left: int | None
    worn: bool
    """At or past the share of its life the type warns at."""
    calibration_due: dt.date | None
    calibration_overdue: bool


@dataclass(frozen=True, slots=True)
class ToolCalibrationInfo(Jsonable):
    """A recorded calibration of a tool, and the due date it left."""

    id: int
    tool: str
    result: str
    performed_on: dt.date
    performed_by: str
    certificate: str
    note: str
    next_due: dt.date | None
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ToolTarget:
    """A tool id found in the active config: its type, the plant and the version."""

    tool: str
    tool_type: ToolType
    plant: Plant
    version_id: int


# ---------------------------------------------------------------- state


def cycles_used(session: Session, tool: str) -> int:
    """The cycles a tool has used: one per completed operation run it was scanned for."""
    return int(session.scalar(select(func.sum(ToolUse.cycles)).where(ToolUse.tool == tool)) or 0)


def status_of(session: Session, tool: str) -> tuple[str, str]:
    """A tool's status (active, held, retired) and its reason: its newest status change."""
    row = session.execute(
        select(ToolStatusChange.status, ToolStatusChange.reason)
        .where(ToolStatusChange.tool == tool)
        .order_by(ToolStatusChange.id.desc())
        .limit(1)
    ).one_or_none()
    return ("active", "") if row is None else (row.status, row.reason)


def latest_calibration(session: Session, tool: str) -> ToolCalibration | None:
    """The newest calibration of a tool (by the day performed, then as recorded)."""
    return session.scalar(
        select(ToolCalibration)
        .where(ToolCalibration.tool == tool)
        .order_by(ToolCalibration.performed_on.desc(), ToolCalibration.id.desc())
        .limit(1)
    )


def calibration_due(session: Session, tool_type: ToolType, tool: str) -> dt.date | None:
    """The day a tool's next calibration is due: after its newest passed calibration by the
    type's interval; the day before a failed one (overdue); None when never calibrated."""
    latest = latest_calibration(session, tool)
    if latest is None:
        return None
    if latest.result != "pass":
        return latest.performed_on - DAY
    return care_dues.next_due(tool_type.calibration, latest.performed_on) or latest.next_due


def tool_status(session: Session, plant: Plant, tool: str, today: dt.date) -> ToolStatus:
    """A declared tool's status now; NotFound for an id no tool type lists."""
    tool_type = plant.tool_type_of(tool)
    if tool_type is None:
        raise NotFound(f"There is no tool '{tool}' in the deployed config; check the tool's label.")
    status, reason = status_of(session, tool)
    cycles = cycles_used(session, tool)
    life = tool_type.life_cycles
    due = calibration_due(session, tool_type, tool) if tool_type.calibration else None
    return ToolStatus(
        tool=tool,
        tool_type=tool_type.name,
        kind=tool_type.kind,
        status=status,
        status_reason=reason,
        cycles=cycles,
        life=life,
        life_left=None if life is None else max(0, life - cycles),
        worn=life is not None and cycles >= tool_type.warn_at * life,
        calibration_due=due,
        calibration_overdue=tool_type.calibration is not None and (due is None or due < today),
    )


def all_tools(session: Session, plant: Plant, today: dt.date) -> list[ToolStatus]:
    """Every declared tool's status, by type then id."""
    return [
        tool_status(session, plant, tool, today)
        for tool_type in sorted(plant.tools.values(), key=lambda t: t.name)
        for tool in tool_type.units
    ]


# ---------------------------------------------------------------- start and completion


def _check(name: str, because: str, passed: bool, text: str) -> dict[str, Any]:
    """One tool check in the shape of an implicit interlock's result."""
    outcome = "pass" if passed else "fail"
    return {
        "name": name,
        "because": "" if passed else because,
        "implicit": True,
        "outcome": outcome,
        "checks": [{"text": text, "outcome": outcome, "readings": []}],
    }


def tool_checks(
    session: Session, plant: Plant, operation: Operation, scanned: str | None, today: dt.date
) -> list[dict[str, Any]]:
    """The checks the tool scanned for ``operation`` must pass: scanned and of the required
    type (one check, failing alone when not), then not held or retired, within its life, and
    calibrated when its type declares calibration."""
    assert operation.tool is not None
    wanted = plant.tools[operation.tool]
    label = f"{wanted.kind} ({wanted.name})"
    tool = (scanned or "").strip()
    found = plant.tool_type_of(tool) if tool else None
    if not tool:
        because = f"No tool was scanned; scan the {label} used for '{operation.id}'"
    elif found is None:
        because = f"'{tool}' is not a known tool; scan the label of a {label}: " + ", ".join(
            wanted.units
        )
    elif found.name != wanted.name:
        because = f"Tool {tool} is a {found.kind} ({found.name}), not a {label}"
    else:
        because = ""
    scan = _check(f"tool is a {wanted.name}", because, not because, f"tool = {tool or 'none'}")
    if because:
        return [scan]
    state = tool_status(session, plant, tool, today)
    status_text = f"Tool {tool} is {'on hold' if state.status == 'held' else state.status}"
    checks = [
        scan,
        _check(
            f"{tool} not held or retired",
            f"{status_text} ({state.status_reason}); use another {wanted.kind}",
            state.status == "active",
            f"status = {state.status}",
        ),
    ]
    if state.life is not None:
        checks.append(
            _check(
                f"{tool} within its life",
                f"Tool {tool} has reached its life limit ({state.cycles:,} of "
                f"{state.life:,} cycles); retire it and use another {wanted.kind}",
                state.cycles < state.life,
                f"cycles = {state.cycles:,} of {state.life:,}",
            )
        )
    if wanted.calibration is not None:
        due = state.calibration_due
        checks.append(
            _check(
                f"{tool} calibrated",
                f"Calibration of tool {tool} is overdue "
                + (f"(due {due})" if due else "(no calibration recorded)"),
                not state.calibration_overdue,
                f"calibration due = {due or 'never calibrated'}",
            )
        )
    return checks


def record_scan(
    session: Session,
    *,
    plant: Plant,
    attempt_id: int,
    item_id: int,
    item_number: str,
    operation: str,
    tool: str,
    actor: str,
    now: dt.datetime,
    version_id: int,
) -> None:
    """Record the tool scanned for an allowed start, with its audit row."""
    tool_type = plant.tool_type_of(tool)
    assert tool_type is not None  # the start's checks passed
    session.add(
        ToolScan(
            start_attempt_id=attempt_id, item_id=item_id, operation=operation, tool=tool,
            tool_type=tool_type.name, scanned_by=actor, at=now, config_version_id=version_id,
        )
    )  # fmt: skip
    new = {"item": item_number, "operation": operation, "attempt": attempt_id}
    audit.record(session, actor=actor, action="scan", entity="tool", entity_id=tool, new=new)


def count_cycle(
    session: Session,
    *,
    start_attempt_id: int | None,
    run_id: int,
    item_number: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """Count one cycle of the tool scanned at the start ``start_attempt_id`` for the run
    ``run_id`` that completed it, with its audit row (nothing when no tool was scanned)."""
    scan = session.scalar(select(ToolScan).where(ToolScan.start_attempt_id == start_attempt_id))
    if scan is None:
        return
    use = ToolUse(
        tool=scan.tool, tool_type=scan.tool_type, run_id=run_id, item_id=scan.item_id,
        operation=scan.operation, cycles=1, at=now, config_version_id=scan.config_version_id,
    )  # fmt: skip
    session.add(use)
    new = {"item": item_number, "operation": scan.operation, "run": run_id, "cycles": 1}
    audit.record(session, actor=actor, action="use", entity="tool", entity_id=scan.tool, new=new)


# ---------------------------------------------------------------- signed records


def tool_target(session: Session, tool: str) -> ToolTarget:
    """The tool ``tool`` in the active config; NotFound when no tool type lists it."""
    version_id, plant = versions.active_plant(session)
    tool_type = plant.tool_type_of(tool)
    if tool_type is None:
        raise NotFound(f"There is no tool '{tool}' in the deployed config; check the tool's label.")
    return ToolTarget(tool, tool_type, plant, version_id)


def check_status_change(
    session: Session,
    *,
    tool: str,
    action: str,
    actor: str,
    reason: str,
    signer: str,
    meaning: str,
    now: dt.datetime,
) -> ToolTarget:
    """Everything :func:`change_status` checks before the signature is verified."""
    target = tool_target(session, tool)
    calibration.check_signer(
        session, actor=actor, signer=signer, meaning=meaning, doing=f"{action} tool {tool}"
    )
    if action not in STATUS_ACTIONS:
        raise Invalid(
            f"'{action}' is not a tool action; use hold, release or retire.", field="action"
        )
    if not reason.strip():
        raise Invalid(f"Say why tool {tool} is to be {STATUS_ACTIONS[action]}.", field="reason")
    status, _ = status_of(session, tool)
    if status == "retired":
        raise Invalid(f"Tool {tool} is retired; a retired tool stays retired.", field="action")
    if status == STATUS_ACTIONS[action]:
        raise Invalid(f"Tool {tool} is already {status}.", field="action")
    return target


def change_status(
    session: Session,
    *,
    tool: str,
    action: str,
    actor: str,
    reason: str,
    signer: Signer,
    now: dt.datetime,
) -> ToolStatus:
    """Hold, release or retire a tool, signed; the tool as it is then."""
    target = check_status_change(
        session, tool=tool, action=action, actor=actor, reason=reason, signer=signer.username,
        meaning=signer.meaning, now=now,
    )  # fmt: skip
    old, _ = status_of(session, tool)
    row = ToolStatusChange(
        tool=tool, status=STATUS_ACTIONS[action], reason=reason.strip(), actor=actor, at=now,
        config_version_id=target.version_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    state = tool_status(session, target.plant, tool, site_today(target.plant, now))
    signed = calibration.sign_record(
        session, signer, record_type="tool_status", record_id=row.id, info=state, now=now,
        version_id=target.version_id,
    )  # fmt: skip
    change = audit.Change(actor, action, "tool", tool, {"status": old}, {"status": row.status},
                          row.reason)  # fmt: skip
    audit.record_many(session, [change, *signed])
    return state


def check_tool_calibration(
    session: Session,
    *,
    name: str,
    actor: str,
    given: CalibrationInput,
    signer: str,
    meaning: str,
    now: dt.datetime,
) -> ToolTarget:
    """Everything :func:`record_tool_calibration` checks before the signature is verified: the
    same as for a machine's calibration (:mod:`engine.commands.calibration`)."""
    target = tool_target(session, name)
    calibration.check_signer(
        session, actor=actor, signer=signer, meaning=meaning,
        doing=f"record a calibration of tool {name}",
    )  # fmt: skip
    calibration.check_performed_at(
        target.plant, performed_on=given.performed_on, performed_by=given.performed_by,
        now=now, what="calibration",
    )  # fmt: skip
    calibration.check_calibration_content(given)
    if target.tool_type.calibration is None:
        raise Invalid(
            f"Tool type {target.tool_type.name} declares no calibration interval; add "
            f"`calibration: {{every: 180 d}}` under it in site.yaml and deploy.",
            field="tool",
        )
    return target


def record_tool_calibration(
    session: Session,
    *,
    name: str,
    actor: str,
    given: CalibrationInput,
    signer: Signer,
    now: dt.datetime,
) -> ToolCalibrationInfo:
    """Record a signed calibration of the tool ``name``; the newest one sets its due date (a
    failed one makes it overdue, so it blocks every start until a passed one is recorded)."""
    target = check_tool_calibration(
        session, name=name, actor=actor, given=given, signer=signer.username,
        meaning=signer.meaning, now=now,
    )  # fmt: skip
    passed = given.result == "pass"
    row = ToolCalibration(
        tool=name, result=given.result, performed_on=given.performed_on,
        performed_by=given.performed_by.strip(), certificate=given.certificate.strip(),
        certificate_sha256=given.certificate_sha256, measured=dict(given.measured),
        note=given.note.strip(),
        next_due=care_dues.next_due(target.tool_type.calibration, given.performed_on)
        if passed else None,
        recorded_by=actor, recorded_at=now, config_version_id=target.version_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    info = _calibration_info(row)
    signed = calibration.sign_record(
        session, signer, record_type="tool_calibration", record_id=row.id, info=info, now=now,
        version_id=target.version_id,
    )  # fmt: skip
    new = {"calibration": row.id, "result": row.result, "next_due": row.next_due}
    change = audit.Change(actor, "calibrate", "tool", name, None, new, row.note)
    audit.record_many(session, [change, *signed])
    return info


def tool_calibrations(session: Session, tool: str, limit: int = 50) -> list[ToolCalibrationInfo]:
    """A tool's calibrations, newest first."""
    rows = session.scalars(
        select(ToolCalibration)
        .where(ToolCalibration.tool == tool)
        .order_by(ToolCalibration.performed_on.desc(), ToolCalibration.id.desc())
        .limit(limit)
    )
    return [_calibration_info(row) for row in rows]


def _calibration_info(row: ToolCalibration) -> ToolCalibrationInfo:
    return ToolCalibrationInfo(
        id=row.id,
        tool=row.tool,
        result=row.result,
        performed_on=row.performed_on,
        performed_by=row.performed_by,
        certificate=row.certificate,
        note=row.note,
        next_due=row.next_due,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
