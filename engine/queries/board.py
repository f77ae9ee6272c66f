"""The supervisor board: work in progress per operation in routing order, each open work order's
progress, and the change marker a live board polls to know when to redraw.

The marker is the newest audit sequence number: every change on the floor writes an audit row in
its own transaction, so the marker moves exactly when something the board shows may have
changed, and reading it is one primary-key lookup.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.infra.jsonable import Jsonable
from engine.queries.items import ACTIVE
from engine.records.production import Item, WorkOrder, table
from engine.records.tables import AuditRecord

_items = table(Item)
_orders = table(WorkOrder)

OPEN = ("created", "released")
HELD = ("on_hold", "nonconforming")


@dataclass(frozen=True, slots=True)
class OperationWip(Jsonable):
    """Items of ``product`` at ``operation`` (its place in the routing is ``step``, from 1; 0 when
    the active routing no longer has it): waiting, running, held (on hold or nonconforming)."""

    product: str
    operation: str
    step: int
    work_center: str
    queued: int
    in_progress: int
    held: int


@dataclass(frozen=True, slots=True)
class OrderProgress(Jsonable):
    """An open work order: its items by what became of them, and whether it is late — past its
    due day already (``overdue``) or planned to finish after it (``late``, from the schedule)."""

    work_order: str
    product: str
    status: str
    priority: int
    due_date: dt.date | None
    erp_reference: str
    items: int
    completed: int
    scrapped: int
    held: int
    in_progress: int
    overdue: bool
    late: bool
    planned_finish: dt.datetime | None

    @property
    def progress(self) -> float:
        """The share of items finished (completed or scrapped); 0 before release."""
        return (self.completed + self.scrapped) / self.items if self.items else 0.0

    json_properties = ("progress",)


@dataclass(frozen=True, slots=True)
class Board(Jsonable):
    """What the supervisor board shows at ``marker`` (the newest audit sequence number)."""

    marker: int
    operations: tuple[OperationWip, ...]
    orders: tuple[OrderProgress, ...]


def marker(session: Session) -> int:
    """The newest audit sequence number (0 on an empty trail): it moves on every change."""
    return int(session.scalar(select(func.max(AuditRecord.seq))) or 0)


def wip_by_operation(session: Session, plant: Plant) -> tuple[OperationWip, ...]:
    """Items not finished, per product and operation, each product's operations in the order of
    its routing in ``plant`` (operations it no longer has last, by name); products by name."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(_items.c.product, _items.c.current_operation, _items.c.status, func.count())
        .where(_items.c.status.in_(ACTIVE), _items.c.current_operation.is_not(None))
        .group_by(_items.c.product, _items.c.current_operation, _items.c.status)
    )
    for product, operation, status, count in rows:
        counts[(product, operation)][status] += int(count)
    places: dict[tuple[str, str], tuple[int, str]] = {}
    for routing in plant.routings.values():
        for step, operation in enumerate(routing.operations, start=1):
            places[(routing.product, operation.id)] = (step, operation.work_center or "")
    shown = []
    for (product, operation), by_status in counts.items():
        step, work_center = places.get((product, operation), (0, ""))
        shown.append(
            OperationWip(
                product, operation, step, work_center,
                by_status["queued"], by_status["in_progress"],
                sum(by_status[s] for s in HELD),
            )
        )  # fmt: skip
    return tuple(sorted(shown, key=lambda w: (w.product, w.step or 10**6, w.operation)))


@dataclass(frozen=True, slots=True)
class OrderCounts:
    """An open work order's row and its items by status."""

    number: str
    product: str
    status: str
    priority: int
    due_date: dt.date | None
    erp_reference: str
    by_status: dict[str, int]


def open_orders(session: Session) -> list[OrderCounts]:
    """Created and released work orders, most urgent first, with their items by status."""
    orders = session.execute(
        select(
            _orders.c.id, _orders.c.number, _orders.c.product, _orders.c.status,
            _orders.c.priority, _orders.c.due_date, _orders.c.erp_reference,
        )
        .where(_orders.c.status.in_(OPEN))
        .order_by(
            _orders.c.priority, _orders.c.due_date.is_(None), _orders.c.due_date, _orders.c.id
        )
    ).all()  # fmt: skip
    by_order: dict[int, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(_items.c.work_order_id, _items.c.status, func.count())
        .join(_orders, _orders.c.id == _items.c.work_order_id)
        .where(_orders.c.status.in_(OPEN))
        .group_by(_items.c.work_order_id, _items.c.status)
    )
    for order_id, status, count in rows:
        by_order[order_id][status] = int(count)
    return [OrderCounts(*row[1:], by_status=by_order[row[0]]) for row in orders]


def progress(
    order: OrderCounts, *, today: dt.date, planned_finish: dt.datetime | None, late: bool
) -> OrderProgress:
    """An open order's progress on the site's ``today``, with what the schedule says of it."""
    counts = order.by_status
    return OrderProgress(
        work_order=order.number,
        product=order.product,
        status=order.status,
        priority=order.priority,
        due_date=order.due_date,
        erp_reference=order.erp_reference,
        items=sum(counts.values()),
        completed=counts.get("completed", 0),
        scrapped=counts.get("scrapped", 0),
        held=sum(counts.get(s, 0) for s in HELD),
        in_progress=counts.get("in_progress", 0),
        overdue=order.due_date is not None and order.due_date < today,
        late=late,
        planned_finish=planned_finish,
    )
