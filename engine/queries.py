"""Read-only questions about production: one item, WIP, an item's history, and genealogy.

Genealogy walks the ``consumptions`` links with recursive CTEs: *backward* from a serial down
through its sub-assemblies to every lot, operator, machine, captured value and config version
that went into it; *forward* from a lot up to every item that contains it, directly or inside a
sub-assembly (a recall list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, literal, null, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.items import ItemRow, find_item
from engine.production_tables import (
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
from engine.tables import ConfigVersion, Lot

_items = table(Item)
_orders = table(WorkOrder)
_links = table(Consumption)
_lots = table(Lot)
_runs = table(OperationRun)
_measurements = table(Measurement)
_captures = table(TagCapture)
_gates = table(GateResult)
_attempts = table(StartAttempt)
_holds = table(HoldEvent)
_ncs = table(Nonconformance)
_dispositions = table(Disposition)
_signatures = table(Signature)
_versions = table(ConfigVersion)

ACTIVE = ("queued", "in_progress", "on_hold", "nonconforming")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Json:
    """``to_json`` for the frozen dataclasses below."""

    def to_json(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


# ---------------------------------------------------------------- one item and WIP


@dataclass(frozen=True, slots=True)
class ItemView(_Json):
    number: str
    product: str
    kind: str
    quantity: float
    status: str
    status_reason: str
    current_operation: str | None
    operation_started: bool
    started_by: str | None
    rework_counts: dict[str, int]
    revision: int
    work_order: str
    config_version_id: int


def item_view(session: Session, number: str) -> ItemView:
    """An item's current state."""
    item = find_item(session, number)
    order = session.scalar(select(_orders.c.number).where(_orders.c.id == item.work_order_id))
    return ItemView(
        number=item.number,
        product=item.product,
        kind=item.kind,
        quantity=item.quantity,
        status=item.status,
        status_reason=item.status_reason,
        current_operation=item.current_operation,
        operation_started=item.operation_started,
        started_by=item.started_by if item.operation_started else None,
        rework_counts=dict(item.rework_counts),
        revision=item.revision,
        work_order=order or "",
        config_version_id=item.config_version_id,
    )


@dataclass(frozen=True, slots=True)
class WipRow(_Json):
    """How many items of a work order are at an operation, by status."""

    work_order: str
    product: str
    operation: str | None
    status: str
    count: int
    quantity: float


def wip(session: Session) -> list[WipRow]:
    """Work in progress (items not completed or scrapped) per work order and operation."""
    rows = session.execute(
        select(
            _orders.c.number,
            _items.c.product,
            _items.c.current_operation,
            _items.c.status,
            func.count(),
            func.sum(_items.c.quantity),
        )
        .select_from(_items.join(_orders, _orders.c.id == _items.c.work_order_id))
        .where(_items.c.status.in_(ACTIVE))
        .group_by(_orders.c.number, _items.c.product, _items.c.current_operation, _items.c.status)
        .order_by(_orders.c.number, _items.c.current_operation, _items.c.status)
    )
    return [WipRow(r[0], r[1], r[2], r[3], int(r[4]), float(r[5] or 0)) for r in rows]


# ---------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class Event(_Json):
    """One thing that happened to an item."""

    at: dt.datetime
    kind: str
    operation: str | None
    actor: str
    summary: str
    detail: dict[str, Any]


def history(session: Session, number: str) -> list[Event]:
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
    values = _by_run(session, _measurements, [r.id for r in runs])
    gates = _by_run(session, _gates, [r.id for r in runs])
    captures = _by_run(session, _captures, [r.id for r in runs])
    for r in runs:
        detail = {
            "run": r.id,
            "equipment": r.equipment,
            "route": r.route,
            "route_operation": r.route_operation,
            "reason": r.route_reason,
            "data": {m["field"]: _shown(m) for m in values.get(r.id, [])},
            "captures": {c["tag"]: _shown(c) for c in captures.get(r.id, [])},
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


def _by_run(
    session: Session, child: Any, run_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    if not run_ids:
        return grouped
    for row in session.execute(select(child).where(child.c.run_id.in_(run_ids))).mappings():
        grouped.setdefault(row["run_id"], []).append(dict(row))
    return grouped


def _shown(row: dict[str, Any]) -> str:
    unit = row.get("unit")
    return (
        f"{row['value_text']} {unit}"
        if unit and row["value_num"] is not None
        else row["value_text"]
    )


# ---------------------------------------------------------------- genealogy


@dataclass(frozen=True, slots=True)
class TracedItem(_Json):
    number: str
    product: str
    status: str
    depth: int
    parent: str | None
    config_version_id: int


@dataclass(frozen=True, slots=True)
class TracedLot(_Json):
    part: str
    lot: str
    quantity: float
    unit: str
    used_by: str
    run: int


@dataclass(frozen=True, slots=True)
class TracedRun(_Json):
    item: str
    operation: str
    operator: str
    equipment: str | None
    started_at: dt.datetime
    completed_at: dt.datetime
    config_version_id: int
    values: dict[str, str]
    captures: dict[str, str]


@dataclass(frozen=True, slots=True)
class Genealogy(_Json):
    """Everything that went into ``root``: items (itself first, then sub-assemblies), lots,
    operation runs with their operators, equipment, entered and captured values, and the config
    versions (id → content hash) that governed them."""

    root: str
    items: list[TracedItem]
    lots: list[TracedLot]
    runs: list[TracedRun]
    config_versions: dict[int, str]


def backward(session: Session, number: str) -> Genealogy:
    """The backward trace of a serial or lot number, through sub-assemblies."""
    root = find_item(session, number)
    tree = select(
        literal(root.id).label("item_id"),
        literal(0).label("depth"),
        cast(null(), Integer).label("parent_id"),
    ).cte("tree", recursive=True)
    tree = tree.union_all(
        select(_links.c.component_item_id, tree.c.depth + 1, _links.c.item_id).where(
            _links.c.item_id == tree.c.item_id, _links.c.component_item_id.is_not(None)
        )
    )
    parent = _items.alias("parent")
    found = session.execute(
        select(
            _items.c.id,
            _items.c.number,
            _items.c.product,
            _items.c.status,
            _items.c.config_version_id,
            tree.c.depth,
            parent.c.number.label("parent"),
        )
        .select_from(
            tree.join(_items, _items.c.id == tree.c.item_id).outerjoin(
                parent, parent.c.id == tree.c.parent_id
            )
        )
        .order_by(tree.c.depth, _items.c.id)
    ).all()
    ids = [r.id for r in found]
    numbers = {r.id: r.number for r in found}
    lots = session.execute(
        select(
            _links.c.part,
            _lots.c.number,
            _links.c.quantity,
            _links.c.unit,
            _links.c.item_id,
            _links.c.run_id,
        )
        .select_from(_links.join(_lots, _lots.c.id == _links.c.lot_id))
        .where(_links.c.item_id.in_(ids))
        .order_by(_links.c.id)
    ).all()
    runs = session.execute(select(_runs).where(_runs.c.item_id.in_(ids)).order_by(_runs.c.id)).all()
    run_ids = [r.id for r in runs]
    values = _by_run(session, _measurements, run_ids)
    captures = _by_run(session, _captures, run_ids)
    version_ids = {r.config_version_id for r in found} | {r.config_version_id for r in runs}
    hashes = {
        row.id: row.content_hash
        for row in session.execute(
            select(_versions.c.id, _versions.c.content_hash).where(_versions.c.id.in_(version_ids))
        )
    }
    return Genealogy(
        root=root.number,
        items=[
            TracedItem(r.number, r.product, r.status, r.depth, r.parent, r.config_version_id)
            for r in found
        ],
        lots=[
            TracedLot(r.part, r.number, r.quantity, r.unit, numbers[r.item_id], r.run_id)
            for r in lots
        ],
        runs=[
            TracedRun(
                item=numbers[r.item_id],
                operation=r.operation,
                operator=r.operator,
                equipment=r.equipment,
                started_at=r.started_at,
                completed_at=r.completed_at,
                config_version_id=r.config_version_id,
                values={m["field"]: _shown(m) for m in values.get(r.id, [])},
                captures={c["tag"]: _shown(c) for c in captures.get(r.id, [])},
            )
            for r in runs
        ],
        config_versions=hashes,
    )


@dataclass(frozen=True, slots=True)
class UsedIn(_Json):
    """An item that contains the traced lot; ``via`` is the sub-assembly it came in (if any)."""

    number: str
    product: str
    status: str
    depth: int
    via: str | None


def forward(session: Session, part: str, lot_number: str) -> list[UsedIn]:
    """Every item containing the lot, directly (depth 1) or through sub-assemblies (a recall)."""
    lot_id = session.scalar(
        select(_lots.c.id).where(_lots.c.part == part, _lots.c.number == lot_number)
    )
    if lot_id is None:
        raise NotFound(f"There is no lot '{lot_number}' of part '{part}'; check the lot label.")
    tree = (
        select(
            _links.c.item_id.label("item_id"),
            literal(1).label("depth"),
            cast(null(), Integer).label("via_id"),
        )
        .where(_links.c.lot_id == lot_id)
        .cte("used", recursive=True)
    )
    tree = tree.union_all(
        select(_links.c.item_id, tree.c.depth + 1, tree.c.item_id).where(
            _links.c.component_item_id == tree.c.item_id
        )
    )
    via = _items.alias("via")
    rows = session.execute(
        select(
            _items.c.number,
            _items.c.product,
            _items.c.status,
            tree.c.depth,
            via.c.number.label("via"),
        )
        .select_from(
            tree.join(_items, _items.c.id == tree.c.item_id).outerjoin(
                via, via.c.id == tree.c.via_id
            )
        )
        .order_by(tree.c.depth, _items.c.number)
    ).all()
    seen: dict[str, UsedIn] = {}
    for r in rows:
        seen.setdefault(r.number, UsedIn(r.number, r.product, r.status, r.depth, r.via))
    return list(seen.values())
