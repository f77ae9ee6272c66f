"""Completed runs on a machine as OEE counts them (see :mod:`engine.floor.kpis`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, bindparam, case, select
from sqlalchemy.orm import Session, aliased

from engine.records.production import Item, OperationRun, WorkOrder

_EARLIER = aliased(OperationRun)
_REPEAT = (
    select(_EARLIER.id)
    .where(_EARLIER.item_id == OperationRun.item_id)
    .where(_EARLIER.operation == OperationRun.operation, _EARLIER.id < OperationRun.id)
    .exists()
)
_COMPLETIONS = (
    select(
        OperationRun.completed_at,
        WorkOrder.routing,
        OperationRun.operation,
        Item.product,
        OperationRun.route,
        Item.quantity,
        case((_REPEAT, 0.0), else_=Item.quantity).label("first_quantity"),
    )
    .join(Item, Item.id == OperationRun.item_id)
    .join(WorkOrder, WorkOrder.id == Item.work_order_id)
    .where(OperationRun.equipment == bindparam("equipment"))
    .where(OperationRun.completed_at >= bindparam("start", type_=OperationRun.completed_at.type))
    .where(OperationRun.completed_at < bindparam("end", type_=OperationRun.completed_at.type))
)  # built once: a KPI query runs it for every machine


def completions(
    session: Session, equipment: str, start: dt.datetime, end: dt.datetime
) -> list[Row[Any]]:
    """Runs completed on the machine from ``start`` to ``end``: when, routing, operation,
    product, route, the unit's quantity, and that quantity again at its first run of the
    operation (0 for a repeat: a rework loop)."""
    if end <= start:
        return []
    values = {"equipment": equipment, "start": start, "end": end}
    return list(session.execute(_COMPLETIONS, values))
