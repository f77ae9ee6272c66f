"""Genealogy: what went into an item, and where a lot went.

Genealogy walks the ``consumptions`` links in one recursive query: *backward* from a serial
down through its sub-assemblies to every lot, operator, machine, captured value and config
version that went into it; *forward* from a lot (and the lots split or merged from it) up to
every item that contains it, directly or inside a sub-assembly (a recall list, thousands of
items for a reel of wire). bench/bench_genealogy.py times both on 1,000,000 items.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, Integer, Select, cast, literal_column, null, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.floor.items import find_item
from engine.infra.jsonable import Jsonable
from engine.queries.history import shown_value, values_by_run
from engine.queries.tools import tools_by_run
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
_lot_links = table(LotLink)

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
    tool: str | None = None
    """The tool scanned for the run, for an operation that requires one."""


class _Reached(NamedTuple):
    """An item a walk reached (a tuple: a recall builds thousands)."""

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


def _walk(session: Session, start: Select[int, int, int], down: bool) -> list[_Reached]:
    """Every item reached from the rows ``start`` selects (item id, depth, the item it came
    through), once each at its smallest depth (through the first item by id when several),
    ordered by depth then number.

    ``down`` follows sub-assembly links from an item to its components, otherwise from a
    component to the items built from it. One recursive query, set-based: each step is one
    lookup in an index per item reached (``ix_consumptions_item`` going down, the covering
    ``ix_consumptions_component`` going up), with the items' details joined in. Going down,
    a lot's link reaches no item (its NULL component is dropped by the join): filtering it out
    in the step would make SQLite scan the whole table for a Bloom filter at every step.
    """
    reached = start.cte("reached", recursive=True)
    step = _links.alias("step")
    if down:
        follow = (step.c.component_item_id, step.c.item_id == reached.c.item_id)
    else:
        follow = (step.c.item_id, step.c.component_item_id == reached.c.item_id)
    reached = reached.union(
        select(follow[0], reached.c.depth + 1, reached.c.item_id).where(
            follow[1], reached.c.depth < MAX_DEPTH
        )
    )
    rows = session.execute(
        select(
            _items.c.id,
            _items.c.number,
            _items.c.product,
            _items.c.status,
            _items.c.config_version_id,
            reached.c.depth,
            reached.c.via,
        )
        .join_from(reached, _items, _items.c.id == reached.c.item_id)
        .order_by(reached.c.depth, _items.c.number, reached.c.via)
    ).all()
    numbers = {row[0]: row[1] for row in rows}
    found: dict[int, _Reached] = {}
    for item_id, number, product, status, version, depth, via in rows:
        if item_id not in found:
            parent = None if via is None else numbers[via]
            found[item_id] = _Reached(item_id, number, product, status, version, depth, parent)
    return list(found.values())


def _start(item_id: ColumnElement[int], depth: int) -> Select[int, int, int]:
    """Where a walk starts: ``item_id`` at ``depth``, come through no other item (add the
    WHERE clause)."""
    return select(
        item_id.label("item_id"),
        literal_column(str(depth), Integer).label("depth"),
        cast(null(), Integer).label("via"),
    )


def backward(session: Session, number: str) -> Genealogy:
    """The backward trace of a serial or lot number, through sub-assemblies."""
    root = find_item(session, number)
    found = _walk(session, _start(_items.c.id, 0).where(_items.c.id == root.id), down=True)
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
    tools = tools_by_run(session, run_ids)
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
                tool=tools.get(r.id),
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


def forward(session: Session, part: str, lot_number: str) -> list[UsedIn]:
    """Every item containing the lot, or a lot split or merged from it at any depth, directly
    (depth 1) or through sub-assemblies (a recall); see :func:`_walk` for the order."""
    lot_id = session.scalar(
        select(_lots.c.id).where(_lots.c.part == part, _lots.c.number == lot_number)
    )
    if lot_id is None:
        raise NotFound(f"There is no lot '{lot_number}' of part '{part}'; check the lot label.")
    traced = select(_lots.c.id).where(_lots.c.id == lot_id).cte("traced_lots", recursive=True)
    traced = traced.union(
        select(_lot_links.c.child_id).where(_lot_links.c.parent_id == traced.c.id)
    )
    direct = _start(_links.c.item_id, 1).where(_links.c.lot_id.in_(select(traced.c.id)))
    return [
        UsedIn(r.number, r.product, r.status, r.depth, r.parent)
        for r in _walk(session, direct, down=False)
    ]
