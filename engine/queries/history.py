"""An item's history: every start attempt, run, measurement, capture, gate, hold, nonconformance
and signature, in time order, each with the config version that governed it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.floor.items import ItemRow, find_item
from engine.infra.jsonable import Jsonable
from engine.queries.spc import signals, spc_summary
from engine.queries.tools import tools_by_run
from engine.records.production import (
    Disposition,
    GateResult,
    HoldEvent,
    Measurement,
    Nonconformance,
    OperationRun,
    Signature,
    StartAttempt,
    TagCapture,
    table,
)

_runs = table(OperationRun)
_measurements = table(Measurement)
_captures = table(TagCapture)
_gates = table(GateResult)
_attempts = table(StartAttempt)
_holds = table(HoldEvent)
_ncs = table(Nonconformance)
_dispositions = table(Disposition)
_signatures = table(Signature)


@dataclass(frozen=True, slots=True)
class Event(Jsonable):
    """One thing that happened to an item."""

    at: dt.datetime
    kind: str
    operation: str | None
    actor: str
    summary: str
    detail: dict[str, Any]


def item_history(session: Session, number: str) -> list[Event]:
    """Everything recorded about an item, oldest first."""
    item = find_item(session, number)
    events: list[Event] = []
    for a in session.execute(select(_attempts).where(_attempts.c.item_id == item.id)):
        kind = "start" if a.allowed else "start_blocked"
        failing = [c["because"] or c["name"] for c in a.checks if c["outcome"] != "pass"]
        summary = f"started '{a.operation}'" if a.allowed else "blocked: " + "; ".join(failing)
        events.append(
            Event(a.at, kind, a.operation, a.actor, summary, {"checks": a.checks, "id": a.id})
        )
    runs = session.execute(select(_runs).where(_runs.c.item_id == item.id)).all()
    values = values_by_run(session, _measurements, [r.id for r in runs])
    gates = values_by_run(session, _gates, [r.id for r in runs])
    captures = values_by_run(session, _captures, [r.id for r in runs])
    tools = tools_by_run(session, [r.id for r in runs])
    for r in runs:
        detail = {
            "run": r.id,
            "equipment": r.equipment,
            "tool": tools.get(r.id),
            "route": r.route,
            "route_operation": r.route_operation,
            "reason": r.route_reason,
            "data": {m["field"]: shown_value(m) for m in values.get(r.id, [])},
            "captures": {c["tag"]: shown_value(c) for c in captures.get(r.id, [])},
            "gates": [
                {"gate": g["gate"], "outcome": g["outcome"], "draw": g["draw"]}
                for g in gates.get(r.id, [])
            ],
            "config_version_id": r.config_version_id,
        }
        summary = f"completed '{r.operation}': {r.route}" + (
            f" → {r.route_operation}" if r.route_operation else ""
        )
        events.append(Event(r.completed_at, "complete", r.operation, r.operator, summary, detail))
    for h in session.execute(select(_holds).where(_holds.c.item_id == item.id)):
        events.append(
            Event(h.at, h.action, None, h.actor, f"{h.action}: {h.reason}", {"source": h.source})
        )
    events += _quality_events(session, item)
    events += [
        Event(s.at, "spc_signal", s.chart.split("/")[1], "spc", spc_summary(s), s.to_json())
        for s in reversed(signals(session, item_id=item.id))
    ]
    return sorted(events, key=lambda e: e.at)


def _quality_events(session: Session, item: ItemRow) -> list[Event]:
    events: list[Event] = []
    ncs = session.execute(select(_ncs).where(_ncs.c.item_id == item.id)).all()
    for n in ncs:
        summary = f"nonconformance #{n.id} {n.defect_code}: {n.description}"
        events.append(
            Event(n.opened_at, "nonconformance", n.operation, n.opened_by, summary, {"id": n.id})
        )
    decided = session.execute(
        select(_dispositions).where(_dispositions.c.nonconformance_id.in_([n.id for n in ncs]))
    ).all()
    for d in decided:
        signatures = session.execute(
            select(_signatures).where(
                _signatures.c.record_type == "disposition", _signatures.c.record_id == d.id
            )
        ).all()
        detail = {
            "nonconformance": d.nonconformance_id,
            "target_operation": d.target_operation,
            "signatures": [_signature(s) for s in signatures],
        }
        summary = f"disposition of #{d.nonconformance_id}: {d.decision} ({d.reason})"
        events.append(Event(d.at, "disposition", d.target_operation, d.actor, summary, detail))
    run_ids = select(_runs.c.id).where(_runs.c.item_id == item.id)
    for s in session.execute(
        select(_signatures).where(
            _signatures.c.record_type == "operation_run", _signatures.c.record_id.in_(run_ids)
        )
    ):
        events.append(
            Event(s.signed_at, "signature", None, s.username, f"signed: {s.meaning}", _signature(s))
        )
    return events


def _signature(row: Any) -> dict[str, Any]:
    return {
        "username": row.username,
        "full_name": row.full_name,
        "role": row.role,
        "meaning": row.meaning,
        "signed_at": row.signed_at.isoformat(),
        "content_hash": row.content_hash,
        "record": f"{row.record_type}/{row.record_id}",
    }


def values_by_run(
    session: Session, child: Any, run_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    if not run_ids:
        return grouped
    for row in session.execute(select(child).where(child.c.run_id.in_(run_ids))).mappings():
        grouped.setdefault(row["run_id"], []).append(dict(row))
    return grouped


def shown_value(row: dict[str, Any]) -> str:
    unit = row.get("unit")
    return (
        f"{row['value_text']} {unit}"
        if unit and row["value_num"] is not None
        else row["value_text"]
    )
