"""The compiled record of a unit, lot or work order: the electronic batch record (eBR) or device
history record (eDHR) a quality reviewer reads before anything ships.

One read builds it in a fixed number of queries, however many operations it holds: the items,
their runs, the values entered and captured, gate results, start checks (for the calibration of
the equipment at use), consumptions with their lots, holds, nonconformances with dispositions,
signatures, the audit rows about any of it, and the review's own rows. Each operation is shown
with the limits of its config version's fields.

The record opens on its exceptions (:func:`~engine.floor.record_content.exceptions_of`),
each keyed so that a reviewer can acknowledge it; the result types and the content hash live in
:mod:`engine.floor.record_content`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, or_, select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Operation, Plant
from engine.errors import Invalid, NotFound
from engine.floor.record_content import (
    LATE_SIGNATURE,
    REVIEW_ENTITY,
    AuditLine,
    BatchRecord,
    CapturedValue,
    EnteredValue,
    GateLine,
    Header,
    HoldLine,
    MaterialLine,
    NonconformanceLine,
    RecordException,
    Review,
    ReviewEntry,
    SignatureLine,
    Step,
    exceptions_of,
    hash_content,
    record_id,
)
from engine.floor.review_board import board_status
from engine.queries.history import shown_value
from engine.records.batch_records import (
    AMENDMENT_RECORD,
    DECISION_RECORD,
    RECORD_KINDS,
    RecordAcknowledgement,
    RecordAmendment,
    RecordDecision,
)
from engine.records.production import (
    Consumption,
    Disposition,
    GateResult,
    HoldEvent,
    Item,
    Measurement,
    Nonconformance,
    OperationRun,
    Signature,
    StartAttempt,
    TagCapture,
    WorkOrder,
    table,
)
from engine.records.tables import AuditRecord, ConfigVersion, Lot
from engine.records.tools import ToolUse

PlantOf = Callable[[Session, int], Plant]

_CALIBRATION_READING = "equipment.calibration_due"

_items, _orders, _runs = table(Item), table(WorkOrder), table(OperationRun)
_measurements, _captures, _gates = table(Measurement), table(TagCapture), table(GateResult)
_attempts, _consumptions, _holds = table(StartAttempt), table(Consumption), table(HoldEvent)
_ncs, _dispositions, _signatures = table(Nonconformance), table(Disposition), table(Signature)
_lots, _versions = table(Lot), table(ConfigVersion)
_audit = AuditRecord.__table__
_acks = RecordAcknowledgement.__table__
_decisions, _amendments = RecordDecision.__table__, RecordAmendment.__table__


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Scope:
    """The items a record covers, and the statements that select their ids and runs."""

    kind: str
    number: str
    order: Any
    items: Sequence[Any]
    item_ids: Select[Any]
    run_ids: Select[Any]


def _scope(session: Session, kind: str, number: str) -> _Scope:
    columns = (
        _orders.c.id,
        _orders.c.number,
        _orders.c.product,
        _orders.c.routing,
        _orders.c.quantity,
        _orders.c.status,
        _orders.c.created_at,
    )
    if kind == "item":
        item_filter: ColumnElement[bool] = _items.c.number == number
        missing = f"There is no unit or lot '{number}'; check the number on its label."
    else:
        order_id = select(_orders.c.id).where(_orders.c.number == number).scalar_subquery()
        item_filter = _items.c.work_order_id == order_id
        missing = f"There is no work order '{number}'; check the number."
    items = session.execute(
        select(_items, _versions.c.content_hash)
        .join(_versions, _versions.c.id == _items.c.config_version_id)
        .where(item_filter)
        .order_by(_items.c.ordinal)
    ).all()
    order_query = select(*columns)
    if kind == "item":
        if not items:
            raise NotFound(missing)
        order_query = order_query.where(_orders.c.id == items[0].work_order_id)
    else:
        order_query = order_query.where(_orders.c.number == number)
    order = session.execute(order_query).one_or_none()
    if order is None:
        raise NotFound(missing)
    item_ids = select(_items.c.id).where(item_filter)
    run_ids = select(_runs.c.id).where(_runs.c.item_id.in_(item_ids))
    return _Scope(kind, number, order, items, item_ids, run_ids)


def batch_record(session: Session, plant_of: PlantOf, kind: str, number: str) -> BatchRecord:
    """The compiled record of a unit or lot (``kind`` "item") or a work order ("work_order");
    NotFound when there is none, Invalid for another kind."""
    if kind not in RECORD_KINDS:
        hint = did_you_mean(kind, RECORD_KINDS)
        raise Invalid(
            f"'{kind}' is not a kind of record; "
            + (hint if hint else "use one of " + ", ".join(RECORD_KINDS) + "."),
            field="kind",
        )
    scope = _scope(session, kind, number)
    numbers = {i.id: i.number for i in scope.items}
    runs = session.execute(
        select(_runs).where(_runs.c.item_id.in_(scope.item_ids)).order_by(_runs.c.id)
    ).all()
    run_ids = [r.id for r in runs]
    signatures = _signatures_of(session, scope)
    steps = _steps(session, plant_of, scope, runs, signatures)
    holds = tuple(
        HoldLine(h.id, numbers[h.item_id], h.action, h.source, h.actor, h.reason, h.at)
        for h in session.execute(
            select(_holds).where(_holds.c.item_id.in_(scope.item_ids)).order_by(_holds.c.id)
        )
    )
    ncs = _nonconformances(session, scope, numbers, signatures)
    audit_lines = _audit_lines(session, scope, run_ids, ncs)
    header = _header(scope, steps)
    content = {
        "header": header.to_json(),
        "steps": [s.to_json() for s in steps],
        "holds": [h.to_json() for h in holds],
        "nonconformances": [n.to_json() for n in ncs],
        "audit": [a.to_json() for a in audit_lines if a.entity != REVIEW_ENTITY],
    }
    review = _review(session, scope, signatures, hash_content(content))
    found = exceptions_of(steps, holds, ncs, review)
    acks = {
        a.exception_key: a
        for a in session.execute(
            select(_acks).where(_acks.c.kind == kind, _acks.c.number == number)
        )
    }
    listed = tuple(
        _acknowledged(e, acks[e.key]) if e.key in acks else e
        for e in sorted(found, key=lambda e: e.at)
    )
    return BatchRecord(header, listed, steps, holds, ncs, audit_lines, review)


def _acknowledged(exception: RecordException, ack: Any) -> RecordException:
    return RecordException(
        exception.key, exception.kind, exception.item, exception.operation, exception.at,
        exception.summary, ack.actor, ack.at, ack.comment,
    )  # fmt: skip


def _header(scope: _Scope, steps: Sequence[Step]) -> Header:
    order = scope.order
    versions = sorted({f"{i.config_version_id} ({i.content_hash[:12]})" for i in scope.items})
    finished = all(i.status in ("completed", "scrapped") for i in scope.items)
    if scope.kind == "item":
        (item,) = scope.items
        title = "Device history record" if item.kind == "unit" else "Batch record"
        product, quantity, status = item.product, item.quantity, item.status
    else:
        kinds = {i.kind for i in scope.items}
        title = "Device history record" if kinds == {"unit"} else "Batch record"
        product, quantity, status = order.product, order.quantity, order.status
    return Header(
        kind=scope.kind,
        number=scope.number,
        title=title,
        product=product,
        quantity=quantity,
        work_order=order.number,
        routing=order.routing,
        status=status,
        config_versions=tuple(versions),
        created_at=order.created_at,
        started_at=min((s.started_at for s in steps), default=None),
        completed_at=max((s.completed_at for s in steps), default=None)
        if finished and steps
        else None,
        items={i.number: i.status for i in scope.items},
    )


def _grouped(session: Session, child: Any, scope: _Scope) -> dict[int, list[dict[str, Any]]]:
    """The rows of a run's child table (values, captures, gates) by run id, in id order."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(child).where(child.c.run_id.in_(scope.run_ids)).order_by(child.c.id)
    ).mappings()
    for row in rows:
        grouped.setdefault(row["run_id"], []).append(dict(row))
    return grouped


def _steps(
    session: Session,
    plant_of: PlantOf,
    scope: _Scope,
    runs: Sequence[Any],
    signatures: Mapping[tuple[str, int], list[SignatureLine]],
) -> tuple[Step, ...]:
    numbers = {i.id: i.number for i in scope.items}
    entered = _grouped(session, _measurements, scope)
    captured = _grouped(session, _captures, scope)
    gates = _grouped(session, _gates, scope)
    materials = _materials(session, scope)
    calibration = _calibration_at_start(session, scope)
    tools = {
        run_id: f"{tool_type} {tool}"
        for run_id, tool_type, tool in session.execute(
            select(ToolUse.run_id, ToolUse.tool_type, ToolUse.tool).where(
                ToolUse.run_id.in_(scope.run_ids)
            )
        )
    }
    ordinal = {i.id: i.ordinal for i in scope.items}
    products = {i.id: i.product for i in scope.items}
    steps = []
    for r in sorted(runs, key=lambda r: (ordinal[r.item_id], r.completed_at, r.id)):
        operation = _operation(plant_of(session, r.config_version_id), products[r.item_id], r)
        due, ok = calibration.get(r.start_attempt_id, (None, None))
        steps.append(
            Step(
                run=r.id,
                item=numbers[r.item_id],
                operation=r.operation,
                title=operation.title if operation is not None else r.operation,
                operator=r.operator,
                equipment=r.equipment,
                calibration_due=due,
                calibration_ok=ok,
                started_at=r.started_at,
                completed_at=r.completed_at,
                route=r.route,
                route_operation=r.route_operation,
                route_reason=r.route_reason,
                config_version_id=r.config_version_id,
                values=tuple(_entered(operation, m) for m in entered.get(r.id, [])),
                captures=tuple(
                    CapturedValue(c["tag"], shown_value(c), c["quality"], c["source_time"])
                    for c in captured.get(r.id, [])
                ),
                gates=tuple(
                    GateLine(g["gate"], g["outcome"], bool(g["sampled"]), g["draw"], _evidence(g))
                    for g in gates.get(r.id, [])
                ),
                materials=tuple(materials.get(r.id, [])),
                signatures=tuple(signatures.get(("operation_run", r.id), [])),
                tool=tools.get(r.id),
            )
        )
    return tuple(steps)


def _operation(plant: Plant, product: str, run: Any) -> Operation | None:
    """The run's operation in its config version (None if that version no longer has it)."""
    try:
        return plant.routing_for(product).operation(run.operation)
    except KeyError:
        return None


def _entered(operation: Operation | None, row: dict[str, Any]) -> EnteredValue:
    field = operation.field(row["field"]) if operation is not None else None
    low, high = (field.low, field.high) if field is not None else (None, None)
    value = row["value_num"]
    outcome = ""
    if value is not None and (low is not None or high is not None):
        inside = (low is None or value >= low) and (high is None or value <= high)
        outcome = "pass" if inside else "fail"
    label = field.label if field is not None else row["field"]
    kind = field.type if field is not None else ""
    return EnteredValue(
        row["field"], label, shown_value(row), low, high, row["unit"], outcome,
        photo=kind == "photo", attachment=kind == "attachment",
    )  # fmt: skip


def _evidence(gate: Mapping[str, Any]) -> str:
    """The readings a gate's checks saw, as text: ``length = 500.8 mm``, and the planned
    deviation it was accepted under, if any."""
    checks = gate["checks"] or []
    seen = [f"{r['name']} = {r['display']}" for check in checks for r in check.get("readings", [])]
    seen += [f"accepted under {c['deviation']}" for c in checks if "deviation" in c]
    return "; ".join(seen)


def _materials(session: Session, scope: _Scope) -> dict[int, list[MaterialLine]]:
    components = _items.alias("components")
    rows = session.execute(
        select(_consumptions, _lots.c.number.label("lot"), components.c.number.label("component"))
        .outerjoin(_lots, _lots.c.id == _consumptions.c.lot_id)
        .outerjoin(components, components.c.id == _consumptions.c.component_item_id)
        .where(_consumptions.c.item_id.in_(scope.item_ids))
        .order_by(_consumptions.c.id)
    )
    grouped: dict[int, list[MaterialLine]] = {}
    for c in rows:
        line = MaterialLine(c.part, c.lot, c.component, c.quantity, c.unit)
        grouped.setdefault(c.run_id, []).append(line)
    return grouped


def _calibration_at_start(
    session: Session, scope: _Scope
) -> dict[int, tuple[str | None, bool | None]]:
    """By start attempt: the equipment's calibration due date its start read, and whether the
    calibration check passed."""
    found: dict[int, tuple[str | None, bool | None]] = {}
    attempt_ids = select(_runs.c.start_attempt_id).where(_runs.c.item_id.in_(scope.item_ids))
    rows = session.execute(
        select(_attempts.c.id, _attempts.c.checks).where(_attempts.c.id.in_(attempt_ids))
    )
    for attempt_id, checks in rows:
        for check in checks or []:
            for part in check.get("checks", []):
                for reading in part.get("readings", []):
                    if reading["name"] == _CALIBRATION_READING:
                        found[attempt_id] = (reading["display"], check["outcome"] == "pass")
    return found


def _signatures_of(session: Session, scope: _Scope) -> dict[tuple[str, int], list[SignatureLine]]:
    """Every signature bound to the record's runs, dispositions and review, by (type, id).
    A run's or disposition's signature is late when given :data:`LATE_SIGNATURE` after it."""
    nc_ids = select(_ncs.c.id).where(_ncs.c.item_id.in_(scope.item_ids))
    disposition_ids = select(_dispositions.c.id).where(
        _dispositions.c.nonconformance_id.in_(nc_ids)
    )
    review = [
        (DECISION_RECORD, _decisions),
        (AMENDMENT_RECORD, _amendments),
    ]
    kind, number, signed = scope.kind, scope.number, _signatures.c
    bound = [
        and_(signed.record_type == "operation_run", signed.record_id.in_(scope.run_ids)),
        and_(signed.record_type == "disposition", signed.record_id.in_(disposition_ids)),
        *(
            and_(
                signed.record_type == record_type,
                signed.record_id.in_(
                    select(rows.c.id).where(rows.c.kind == kind, rows.c.number == number)
                ),
            )
            for record_type, rows in review
        ),
    ]  # fmt: skip
    acted = {
        ("operation_run", r.id): r.at
        for r in session.execute(
            select(_runs.c.id, _runs.c.completed_at.label("at")).where(
                _runs.c.id.in_(scope.run_ids)
            )
        )
    }
    acted.update(
        (("disposition", d.id), d.at)
        for d in session.execute(
            select(_dispositions.c.id, _dispositions.c.at).where(
                _dispositions.c.id.in_(disposition_ids)
            )
        )
    )
    grouped: dict[tuple[str, int], list[SignatureLine]] = {}
    for s in session.execute(select(_signatures).where(or_(*bound)).order_by(_signatures.c.id)):
        done = acted.get((s.record_type, s.record_id))
        late = done is not None and s.signed_at - done > LATE_SIGNATURE
        line = SignatureLine(
            s.username, s.full_name, s.role, s.meaning, s.signed_at, s.content_hash, late
        )
        grouped.setdefault((s.record_type, s.record_id), []).append(line)
    return grouped


def _nonconformances(
    session: Session,
    scope: _Scope,
    numbers: Mapping[int, str],
    signatures: Mapping[tuple[str, int], list[SignatureLine]],
) -> tuple[NonconformanceLine, ...]:
    rows = session.execute(
        select(
            _ncs,
            _dispositions.c.id.label("disposition_id"),
            _dispositions.c.decision,
            _dispositions.c.required_roles,
            _dispositions.c.target_operation,
            _dispositions.c.reason,
            _dispositions.c.actor.label("decided_by"),
            _dispositions.c.at.label("decided_at"),
        )
        .outerjoin(_dispositions, _dispositions.c.nonconformance_id == _ncs.c.id)
        .where(_ncs.c.item_id.in_(scope.item_ids))
        .order_by(_ncs.c.id)
    )
    lines: list[NonconformanceLine] = []
    for n in rows:
        signed = tuple(signatures.get(("disposition", n.disposition_id), []))
        lines.append(
            NonconformanceLine(
                n.id, numbers[n.item_id], n.operation, n.gate, n.defect_code, n.description,
                n.opened_by, n.opened_at, _decision(n.decision, n.required_roles, signed),
                n.target_operation, n.reason or "", n.decided_by, n.decided_at, signed,
            )
        )  # fmt: skip
    return tuple(lines)


def _decision(
    decision: str | None, required: list[str] | None, signed: tuple[SignatureLine, ...]
) -> str | None:
    """The decision as the record shows it: as it is once in effect, else with where it
    stands with the review board ("use_as_is (waiting for engineer)", "repair (rejected)")."""
    if decision is None:
        return None
    status, missing = board_status(tuple(required or ()), ((s.role, s.meaning) for s in signed))
    if status == "effective":
        return decision
    return (
        f"{decision} (rejected)"
        if status == "rejected"
        else (f"{decision} (waiting for {', '.join(missing)})")
    )


def _audit_lines(
    session: Session, scope: _Scope, run_ids: Sequence[int], ncs: Sequence[NonconformanceLine]
) -> tuple[AuditLine, ...]:
    """Every audit row about the record's items, work order, nonconformances, signed runs and
    dispositions, and its review, in chain order."""
    numbers = select(_items.c.number).where(_items.c.id.in_(scope.item_ids))
    nc_ids = [str(n.id) for n in ncs]
    disposition_ids = select(cast(_dispositions.c.id, String)).where(
        _dispositions.c.nonconformance_id.in_(select(_ncs.c.id).where(_ncs.c.item_id.in_(scope.item_ids)))
    )  # fmt: skip
    about = [
        and_(_audit.c.entity == "item", _audit.c.entity_id.in_(numbers)),
        and_(_audit.c.entity == "work_order", _audit.c.entity_id == scope.order.number),
        and_(_audit.c.entity == "nonconformance", _audit.c.entity_id.in_(nc_ids)),
        and_(
            _audit.c.entity == "operation_run",
            _audit.c.entity_id.in_([str(r) for r in run_ids]),
        ),
        and_(_audit.c.entity == "disposition", _audit.c.entity_id.in_(disposition_ids)),
        and_(
            _audit.c.entity == REVIEW_ENTITY,
            _audit.c.entity_id == record_id(scope.kind, scope.number),
        ),
    ]
    rows = session.execute(select(_audit).where(or_(*about)).order_by(_audit.c.seq))
    return tuple(
        AuditLine(a.seq, a.at, a.actor, a.action, a.entity, a.entity_id, a.old, a.new, a.reason)
        for a in rows
    )


def _review(
    session: Session,
    scope: _Scope,
    signatures: Mapping[tuple[str, int], list[SignatureLine]],
    current: str,
) -> Review:
    entries: list[tuple[dt.datetime, int, ReviewEntry]] = []
    for record_type, rows in ((DECISION_RECORD, _decisions), (AMENDMENT_RECORD, _amendments)):
        for r in session.execute(
            select(rows).where(rows.c.kind == scope.kind, rows.c.number == scope.number)
        ):
            action = r.decision if record_type == DECISION_RECORD else "amended"
            signed = tuple(signatures.get((record_type, r.id), []))
            entries.append(
                (r.at, r.id, ReviewEntry(action, r.actor, r.at, r.reason, r.content_hash, signed))
            )
    history = tuple(e for _, _, e in sorted(entries, key=lambda t: (t[0], t[1])))
    decisions = [e for e in history if e.action != "amended"]
    status = decisions[-1].action if decisions else "open"
    signed_hash = history[-1].content_hash if history else None
    return Review(status, current, signed_hash, history)


# ---------------------------------------------------------------- exceptions
