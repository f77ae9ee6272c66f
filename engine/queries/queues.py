"""Work-centre queues: what waits to be run next at a work centre, most urgent first.

An item waits at its ``current_operation``; the operation's work centre comes from the routing of
the config version the item was released under (:func:`stations`), so an item keeps its place
when a later version moves an operation elsewhere. The queue is ordered by its work order's
priority (1 first), then due date (none last), then the work order's age, then the item's place
in its work order. The item filter and the join key are read from ``ix_items_wip``
(status, current_operation, work_order_id, ordinal), so a page costs one index range scan and a
sort of the work centre's waiting items, not a scan of every item.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Plant
from engine.errors import Invalid, NotFound
from engine.infra.jsonable import Jsonable
from engine.records.production import Item, WorkOrder, table

_items = table(Item)
_orders = table(WorkOrder)

PAGE_MAX = 200
RUNNING_SHOWN = 50


@dataclass(frozen=True, slots=True)
class QueueEntry(Jsonable):
    """A unit or lot waiting (or running) at an operation of the work centre."""

    item: str
    kind: str
    quantity: float
    product: str
    operation: str
    status: str
    work_order: str
    due_date: dt.date | None
    priority: int
    erp_reference: str


@dataclass(frozen=True, slots=True)
class WorkCenterQueue(Jsonable):
    """A page of a work centre's queue: ``waiting`` from ``offset`` on (``total`` in all), and
    what is running there now."""

    work_center: str
    description: str
    total: int
    offset: int
    waiting: tuple[QueueEntry, ...]
    running: tuple[QueueEntry, ...]


@dataclass(frozen=True, slots=True)
class Stations:
    """Where a work centre's operations are: operation ids that are at the work centre in every
    version and product that has them (``everywhere``), and for the others the (version,
    product) pairs in which they are."""

    work_center: str
    description: str
    everywhere: frozenset[str]
    only_in: Mapping[str, frozenset[tuple[int, str]]]


def open_versions(session: Session) -> list[int]:
    """The config versions of released work orders (the versions of every item in a queue)."""
    return list(
        session.scalars(
            select(_orders.c.config_version_id)
            .where(_orders.c.status == "released")
            .distinct()
            .order_by(_orders.c.config_version_id)
        )
    )


def stations(work_center: str, plants: Mapping[int, Plant], active: Plant) -> Stations:
    """The operations at ``work_center`` in each of ``plants`` (by version id). The work centre
    must be declared by the ``active`` plant; NotFound with a did-you-mean otherwise."""
    declared = active.work_centers.get(work_center)
    if declared is None:
        hint = did_you_mean(work_center, active.work_centers)
        known = ", ".join(sorted(active.work_centers)) or "none"
        raise NotFound(
            f"The plant has no work centre '{work_center}'; "
            + (hint if hint else f"its work centres are: {known}")
        )
    here: dict[str, set[tuple[int, str]]] = defaultdict(set)
    anywhere: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for version, plant in plants.items():
        for routing in plant.routings.values():
            for operation in routing.operations:
                anywhere[operation.id].add((version, routing.product))
                if operation.work_center == work_center:
                    here[operation.id].add((version, routing.product))
    everywhere = frozenset(op for op, pairs in here.items() if pairs == anywhere[op])
    only_in = {op: frozenset(pairs) for op, pairs in here.items() if op not in everywhere}
    return Stations(work_center, declared.description, everywhere, only_in)


def _at(where: Stations) -> ColumnElement[bool]:
    """Items whose current operation is at the work centre."""
    terms: list[ColumnElement[bool]] = []
    if where.everywhere:
        terms.append(_items.c.current_operation.in_(sorted(where.everywhere)))
    for operation, pairs in sorted(where.only_in.items()):
        by_version: dict[int, list[str]] = defaultdict(list)
        for version, product in sorted(pairs):
            by_version[version].append(product)
        terms.append(
            and_(
                _items.c.current_operation == operation,
                or_(
                    *(
                        and_(_items.c.config_version_id == v, _items.c.product.in_(products))
                        for v, products in by_version.items()
                    )
                ),
            )
        )
    return or_(*terms) if terms else false()


def _entries(
    session: Session, where: Stations, status: str, limit: int, offset: int
) -> tuple[QueueEntry, ...]:
    """The items in ``status`` at the work centre, most urgent first, from ``offset`` on.

    The ranking reads the items' part from the index alone and sorts (id, work order) pairs;
    only the page's rows are read in full afterwards."""
    ranked = (
        select(_items.c.id)
        .select_from(_items.join(_orders, _orders.c.id == _items.c.work_order_id))
        .where(_items.c.status == status, _at(where))
        .order_by(
            _orders.c.priority,
            _orders.c.due_date.is_(None),
            _orders.c.due_date,
            _orders.c.id,
            _items.c.ordinal,
        )
        .limit(limit)
        .offset(offset)
    )
    page = list(session.scalars(ranked))
    if not page:
        return ()
    rows = session.execute(
        select(
            _items.c.id,
            _items.c.number,
            _items.c.kind,
            _items.c.quantity,
            _items.c.product,
            _items.c.current_operation,
            _items.c.status,
            _orders.c.number,
            _orders.c.due_date,
            _orders.c.priority,
            _orders.c.erp_reference,
        )
        .select_from(_items.join(_orders, _orders.c.id == _items.c.work_order_id))
        .where(_items.c.id.in_(page))
    )
    by_id = {row[0]: QueueEntry(*row[1:]) for row in rows}
    return tuple(by_id[item_id] for item_id in page)


def check_page(limit: int, offset: int) -> None:
    """Invalid unless 1 ≤ ``limit`` ≤ :data:`PAGE_MAX` and ``offset`` ≥ 0."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(
            f"Ask for 1 to {PAGE_MAX} queue entries at a time, not {limit}.", field="limit"
        )
    if offset < 0:
        raise Invalid(f"The offset counts from 0; {offset} is not one.", field="offset")


def queue(
    session: Session, where: Stations, *, limit: int = 50, offset: int = 0
) -> WorkCenterQueue:
    """A page of the work centre's waiting items, most urgent first, and what runs there now
    (the first :data:`RUNNING_SHOWN`, in the same order)."""
    check_page(limit, offset)
    return WorkCenterQueue(
        work_center=where.work_center,
        description=where.description,
        total=waiting(session, where),
        offset=offset,
        waiting=_entries(session, where, "queued", limit, offset),
        running=_entries(session, where, "in_progress", RUNNING_SHOWN, 0),
    )


def waiting(session: Session, where: Stations) -> int:
    """How many items wait at the work centre (counted in the index)."""
    total = session.scalar(
        select(func.count()).select_from(_items).where(_items.c.status == "queued", _at(where))
    )
    return int(total or 0)
