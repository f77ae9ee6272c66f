"""Read-only questions about items: one item as the station shows it, WIP by operation, and items
in given statuses."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import Invalid
from engine.floor.items import find_item
from engine.infra.jsonable import Jsonable
from engine.records.production import (
    ITEM_STATUSES,
    Item,
    WorkOrder,
    table,
)

_items = table(Item)
_orders = table(WorkOrder)

ACTIVE = ("queued", "in_progress", "on_hold", "nonconforming")


@dataclass(frozen=True, slots=True)
class ItemView(Jsonable):
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
class WipRow(Jsonable):
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
class ItemInStatus(Jsonable):
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
