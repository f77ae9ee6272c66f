"""Read-only questions about production: one item, WIP, an item's history, and genealogy.

Genealogy walks the ``consumptions`` links level by level: *backward* from a serial down
through its sub-assemblies to every lot, operator, machine, captured value and config version
that went into it; *forward* from a lot up to every item that contains it, directly or inside a
sub-assembly (a recall list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import Invalid, NotFound
from engine.floor.items import ItemRow, find_item
from engine.records.production import (
    ITEM_STATUSES,
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
from engine.records.tables import ConfigVersion, Lot

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
MAX_DEPTH = 50  # levels of sub-assemblies followed


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


@dataclass(frozen=True, slots=True)
class ItemInStatus(_Json):
    """An item in a status list: where it waits and why (``status_reason``: a hold's reason,
    an open nonconformance's description)."""

    number: str
    product: str
    status: str
    status_reason: str
    current_operation: str | None
    work_order: str


def items_in_status(session: Session, statuses: Collection[str]) -> list[ItemInStatus]:
    """Every item in one of ``statuses`` (e.g. on_hold and nonconforming: what waits for a
    supervisor or for quality), by number."""
    unknown = sorted(set(statuses) - set(ITEM_STATUSES))
    if unknown:
        raise Invalid(
            f"'{unknown[0]}' is not an item status; use one of {', '.join(ITEM_STATUSES)}.",
            field="status",
        )
    rows = session.execute(
        select(
            _items.c.number,
            _items.c.product,
            _items.c.status,
            _items.c.status_reason,
            _items.c.current_operation,
            _orders.c.number,
        )
        .select_from(_items.join(_orders, _orders.c.id == _items.c.work_order_id))
        .where(_items.c.status.in_(sorted(statuses)))
        .order_by(_items.c.number)
    )
    return [ItemInStatus(*row) for row in rows]


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
class _Reached:
    id: int
    number: str
    product: str
    status: str
    config_version_id: int
    depth: int
    parent: str | None


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


def _walk(
    session: Session, start: dict[int, int | None], down: bool
) -> dict[int, tuple[int, int | None]]:
    """Follow sub-assembly links level by level: item id → (depth, the item it came through).

    ``down`` goes from an item to its components, otherwise from a component to the items built
    from it. One indexed query per level (sub-assemblies nest a few levels deep), which stays fast
    whatever the planner thinks of the table's statistics.
    """
    found = {item: (1 if not down else 0, via) for item, via in start.items()}
    frontier = list(start)
    depth = min(d for d, _ in found.values()) if found else 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        if down:
            query = select(_links.c.component_item_id, _links.c.item_id).where(
                _links.c.item_id.in_(frontier), _links.c.component_item_id.is_not(None)
            )
        else:
            query = select(_links.c.item_id, _links.c.component_item_id).where(
                _links.c.component_item_id.in_(frontier)
            )
        frontier = []
        for reached, came_from in session.execute(query):
            if reached not in found:
                found[reached] = (depth, came_from)
                frontier.append(reached)
    return found


def _details(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    rows = session.execute(
        select(
            _items.c.id,
            _items.c.number,
            _items.c.product,
            _items.c.status,
            _items.c.config_version_id,
        ).where(_items.c.id.in_(ids))
    )
    return {row.id: row for row in rows}


def _number_of(details: dict[int, Any], item_id: int | None) -> str | None:
    return None if item_id is None else str(details[item_id].number)


def backward(session: Session, number: str) -> Genealogy:
    """The backward trace of a serial or lot number, through sub-assemblies."""
    root = find_item(session, number)
    walked = _walk(session, {root.id: None}, down=True)
    details = _details(session, list(walked))
    ordered = sorted(walked, key=lambda i: (walked[i][0], i))
    found = [
        _Reached(
            details[i].id,
            details[i].number,
            details[i].product,
            details[i].status,
            details[i].config_version_id,
            walked[i][0],
            _number_of(details, walked[i][1]),
        )
        for i in ordered
    ]
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
    direct = session.scalars(select(_links.c.item_id).where(_links.c.lot_id == lot_id)).all()
    walked = _walk(session, dict.fromkeys(direct), down=False)
    details = _details(session, list(walked))
    ordered = sorted(walked, key=lambda i: (walked[i][0], details[i].number))
    return [
        UsedIn(
            details[i].number,
            details[i].product,
            details[i].status,
            walked[i][0],
            _number_of(details, walked[i][1]),
        )
        for i in ordered
    ]
