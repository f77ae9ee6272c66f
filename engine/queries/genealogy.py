"""Genealogy: what went into an item, and where a lot went.

Genealogy walks the ``consumptions`` links level by level: *backward* from a serial down
through its sub-assemblies to every lot, operator, machine, captured value and config version
that went into it; *forward* from a lot up to every item that contains it, directly or inside a
sub-assembly (a recall list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.floor.items import find_item
from engine.infra.jsonable import Jsonable
from engine.queries.history import shown_value, values_by_run
from engine.records.production import (
    Consumption,
    Item,
    Measurement,
    OperationRun,
    TagCapture,
    table,
)
from engine.records.tables import ConfigVersion, Lot, LotLink

_items = table(Item)
_links = table(Consumption)
_lots = table(Lot)
_runs = table(OperationRun)
_measurements = table(Measurement)
_captures = table(TagCapture)
_versions = table(ConfigVersion)

MAX_DEPTH = 50  # levels of sub-assemblies followed


@dataclass(frozen=True, slots=True)
class TracedItem(Jsonable):
    number: str
    product: str
    status: str
    depth: int
    parent: str | None
    config_version_id: int


@dataclass(frozen=True, slots=True)
class TracedLot(Jsonable):
    part: str
    lot: str
    quantity: float
    unit: str
    used_by: str
    run: int


@dataclass(frozen=True, slots=True)
class TracedRun(Jsonable):
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
class Genealogy(Jsonable):
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
    values = values_by_run(session, _measurements, run_ids)
    captures = values_by_run(session, _captures, run_ids)
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
                values={m["field"]: shown_value(m) for m in values.get(r.id, [])},
                captures={c["tag"]: shown_value(c) for c in captures.get(r.id, [])},
            )
            for r in runs
        ],
        config_versions=hashes,
    )


@dataclass(frozen=True, slots=True)
class UsedIn(Jsonable):
    """An item that contains the traced lot; ``via`` is the sub-assembly it came in (if any)."""

    number: str
    product: str
    status: str
    depth: int
    via: str | None


def _split_or_merged_from(session: Session, lot_id: int) -> list[int]:
    """The lot and every lot split or merged from it, at any depth (a recall follows them)."""
    found = [lot_id]
    frontier = [lot_id]
    while frontier:
        children = session.scalars(
            select(LotLink.child_id).where(LotLink.parent_id.in_(frontier))
        ).all()
        frontier = [child for child in dict.fromkeys(children) if child not in found]
        found += frontier
    return found


def forward(session: Session, part: str, lot_number: str) -> list[UsedIn]:
    """Every item containing the lot, directly (depth 1) or through sub-assemblies (a recall)."""
    lot_id = session.scalar(
        select(_lots.c.id).where(_lots.c.part == part, _lots.c.number == lot_number)
    )
    if lot_id is None:
        raise NotFound(f"There is no lot '{lot_number}' of part '{part}'; check the lot label.")
    lots = _split_or_merged_from(session, lot_id)
    direct = session.scalars(select(_links.c.item_id).where(_links.c.lot_id.in_(lots))).all()
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
