"""What the runs on a machine say beyond the OEE counts: rejects at the start of a work order's
run on the machine (startup) or later (production), for the six big losses, and each work order's
allocation ratio (ISO 22400-2: AR = ΣAUBT / AOET).

For a work order, the actual unit busy time (AUBT) is the time its runs on the machines took,
start to completion, summed; the actual order execution time (AOET) runs from the first of those
runs' starts to the last one's completion. Both count the runs completed in the period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from dsl.model import Plant
from engine.floor.kpis import Rejects
from engine.infra.jsonable import Jsonable
from engine.queries.oee import GOOD_ROUTES, cycle_time
from engine.records.production import Item, OperationRun, WorkOrder

_EARLIER = aliased(OperationRun)
_EARLIER_ITEM = aliased(Item)


@dataclass(frozen=True, slots=True)
class OrderAllocation(Jsonable):
    """A work order's runs on the machines in the period: their busy time (ΣAUBT) and the time
    from the first start to the last completion (AOET)."""

    work_order: str
    runs: int
    busy_s: float
    execution_s: float

    @property
    def allocation_ratio(self) -> float | None:
        """ΣAUBT / AOET; None when the runs took no time."""
        return self.busy_s / self.execution_s if self.execution_s > 0 else None

    json_properties = ("allocation_ratio",)


@dataclass(frozen=True, slots=True)
class Run:
    """A run completed on a machine, and whether it was its work order's first there."""

    work_order: str
    routing: str
    operation: str
    started_at: dt.datetime
    completed_at: dt.datetime
    route: str
    quantity: float
    first_here: bool


def runs(session: Session, equipment: list[str], start: dt.datetime, end: dt.datetime) -> list[Run]:
    """The runs completed on the machines from ``start`` to ``end``, oldest first."""
    earlier_here = (
        select(_EARLIER.id)
        .join(_EARLIER_ITEM, _EARLIER_ITEM.id == _EARLIER.item_id)
        .where(_EARLIER_ITEM.work_order_id == Item.work_order_id)
        .where(_EARLIER.operation == OperationRun.operation)
        .where(_EARLIER.equipment == OperationRun.equipment, _EARLIER.id < OperationRun.id)
        .exists()
    )
    rows = session.execute(
        select(
            WorkOrder.number, WorkOrder.routing, OperationRun.operation, OperationRun.started_at,
            OperationRun.completed_at, OperationRun.route, Item.quantity, ~earlier_here,
        )
        .join(Item, Item.id == OperationRun.item_id)
        .join(WorkOrder, WorkOrder.id == Item.work_order_id)
        .where(OperationRun.equipment.in_(equipment))
        .where(OperationRun.completed_at >= start, OperationRun.completed_at < end)
        .order_by(OperationRun.completed_at, OperationRun.id)
    )  # fmt: skip
    return [Run(*row) for row in rows]


def rejects(plant: Plant, found: list[Run]) -> tuple[Rejects, Rejects]:
    """Rejected units and their ideal time: at a work order's first run on the machine
    (startup), and at the others (production)."""
    startup, production = [0.0, 0.0], [0.0, 0.0]
    for run in found:
        if run.route in GOOD_ROUTES:
            continue
        into = startup if run.first_here else production
        into[0] += run.quantity
        into[1] += cycle_time(plant, run.routing, run.operation) * run.quantity
    return Rejects(*startup), Rejects(*production)


def allocations(found: list[Run]) -> tuple[OrderAllocation, ...]:
    """Each work order's allocation figures, by work order number."""
    by_order: dict[str, list[Run]] = defaultdict(list)
    for run in found:
        by_order[run.work_order].append(run)
    return tuple(
        OrderAllocation(
            number,
            len(its),
            sum((r.completed_at - r.started_at).total_seconds() for r in its),
            (max(r.completed_at for r in its) - min(r.started_at for r in its)).total_seconds(),
        )
        for number, its in sorted(by_order.items())
    )
