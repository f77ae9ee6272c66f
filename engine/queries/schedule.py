"""A finite-capacity schedule of the open work: planned start and finish of every remaining
operation of every created or released work order, and which orders will be late.

The algorithm (docs/dispatch.md says it for people):

1. **Demand.** For each open work order, the quantity still to pass each operation of its routing
   (in the config version it runs under): an item waiting or running at operation *k* still
   needs *k* and every operation after it; a created order needs every operation for all of its
   quantity. Rework loops are not foreseen.
2. **Durations.** ``cycle_time`` of the operation (ideal seconds per product unit) × quantity. An
   operation without a cycle time takes no time and is noted.
3. **Resources.** An operation occupies its equipment if it names one, else its work centre,
   each able to run one job at a time; an operation with neither is not capacity-bound. A piece
   of equipment that is down now is assumed back after :data:`DOWN_ASSUMED` (noted): the schedule
   is computed afresh on every request, so it re-plans as soon as equipment goes down, comes back
   or an order is added. Resources work only when the site's calendar is open: in its shifts,
   outside their breaks and its dated planned downtime (a shutdown, a maintenance window); a job
   reaching closed time pauses and goes on at the next shift, so its span includes the pause.
   A site without a calendar works around the clock.
4. **Order.** Work orders are taken one by one, most urgent first: priority (1 first), then
   earliest due date (none last), then the oldest. Each order's operations are placed in routing
   order, each at the earliest gap of its resource long enough to hold it, no earlier than it can
   start: what already waits at an operation can start now, what still has to arrive starts
   when the previous operation has finished (the order moves as one batch). This is list
   scheduling by earliest due date with priorities, with gap filling; it is not optimal, but it
   is predictable and fast (500 orders × 10 operations in well under a second).
5. **Lateness.** An order is late when its last operation finishes after the end of its due
   date in the site's time zone.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.calendars import downtime_windows, shift_windows
from dsl.model import Operation, Plant
from engine.infra.jsonable import Jsonable
from engine.queries.items import ACTIVE
from engine.records.production import Item, WorkOrder, table
from engine.records.tables import EquipmentRecord

_items = table(Item)
_orders = table(WorkOrder)

DOWN_ASSUMED = dt.timedelta(hours=1)
"""How long a piece of equipment that is down now is assumed to stay down."""
CLOSED_LOOKAHEAD = dt.timedelta(days=366)
"""How far ahead the calendar's dated planned downtime is read."""


@dataclass(frozen=True, slots=True)
class PlannedOperation(Jsonable):
    """One job: ``quantity`` of a work order at an operation, on ``resource`` (equipment or
    work centre; "" when not capacity-bound), from ``start`` to ``finish``."""

    work_order: str
    operation: str
    resource: str
    quantity: float
    start: dt.datetime
    finish: dt.datetime
    note: str


@dataclass(frozen=True, slots=True)
class PlannedOrder(Jsonable):
    """A work order's plan: when its remaining work finishes, and whether that is late."""

    work_order: str
    product: str
    status: str
    priority: int
    due_date: dt.date | None
    finish: dt.datetime
    late: bool
    operations: tuple[PlannedOperation, ...]


@dataclass(frozen=True, slots=True)
class Schedule(Jsonable):
    """The plan made at ``planned_at``: orders in the order they were planned, the resources
    they use (equipment and work centres, by name) and the last finish."""

    planned_at: dt.datetime
    orders: tuple[PlannedOrder, ...]
    resources: tuple[str, ...]
    horizon: dt.datetime

    @property
    def late(self) -> tuple[PlannedOrder, ...]:
        return tuple(o for o in self.orders if o.late)

    json_properties = ("late",)


@dataclass(frozen=True, slots=True)
class Demand:
    """An open work order and the quantity waiting at each operation now (by operation id; a
    created order has all of it at the first operation)."""

    id: int
    number: str
    product: str
    status: str
    priority: int
    due_date: dt.date | None
    config_version_id: int
    waiting: Mapping[str, float]


def open_demand(session: Session) -> list[Demand]:
    """Every created or released work order with what still waits at each operation."""
    orders = session.execute(
        select(
            _orders.c.id,
            _orders.c.number,
            _orders.c.product,
            _orders.c.status,
            _orders.c.priority,
            _orders.c.due_date,
            _orders.c.config_version_id,
            _orders.c.quantity,
        ).where(_orders.c.status.in_(("created", "released")))
    ).all()
    waiting: dict[int, dict[str, float]] = defaultdict(dict)
    rows = session.execute(
        select(_items.c.work_order_id, _items.c.current_operation, func.sum(_items.c.quantity))
        .where(_items.c.status.in_(ACTIVE))
        .group_by(_items.c.work_order_id, _items.c.current_operation)
    )
    for order_id, operation, quantity in rows:
        if operation is not None:
            waiting[order_id][operation] = float(quantity or 0)
    return [
        Demand(
            id=row.id,
            number=row.number,
            product=row.product,
            status=row.status,
            priority=row.priority,
            due_date=row.due_date,
            config_version_id=row.config_version_id,
            waiting=waiting[row.id] if row.status == "released" else {"": float(row.quantity)},
        )
        for row in orders
    ]


def down_equipment(session: Session) -> frozenset[str]:
    """Equipment whose recorded state is down now."""
    return frozenset(
        session.scalars(select(EquipmentRecord.name).where(EquipmentRecord.state == "down"))
    )


@dataclass
class _Timeline:
    """A resource's booked jobs, as sorted, non-overlapping (start, end) seconds from now, and
    the site's closed time (outside shifts, breaks, dated planned downtime), in which no job
    runs: a job reaching closed time pauses and goes on when the site opens again."""

    free_from: float = 0.0
    closed: Sequence[tuple[float, float]] = ()
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    closed_starts: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.closed_starts = [start for start, _ in self.closed]

    def book(self, ready: float, duration: float) -> tuple[float, float]:
        """Book the earliest gap that holds ``duration`` seconds of open time from ``ready``
        on; returns its start and end. Touching bookings are merged into one interval, so a
        busy resource's list stays short."""
        start = self._open_at(max(ready, self.free_from))
        index = bisect_right(self.ends, start)
        end = self._advance(start, duration)
        while index < len(self.starts) and self.starts[index] < end:
            start = self._open_at(max(start, self.ends[index]))
            index += 1
            end = self._advance(start, duration)
        joins_before = index > 0 and self.ends[index - 1] == start
        joins_after = index < len(self.starts) and self.starts[index] == end
        if joins_before and joins_after:
            self.ends[index - 1] = self.ends.pop(index)
            del self.starts[index]
        elif joins_before:
            self.ends[index - 1] = end
        elif joins_after:
            self.starts[index] = start
        else:
            self.starts.insert(index, start)
            self.ends.insert(index, end)
        return start, end

    def _open_at(self, moment: float) -> float:
        """The first open instant at or after ``moment``."""
        index = bisect_right(self.closed_starts, moment) - 1
        if index >= 0 and self.closed[index][1] > moment:
            return self.closed[index][1]
        return moment

    def _advance(self, start: float, duration: float) -> float:
        """When ``duration`` seconds of open time from ``start`` (open) have passed."""
        moment, left = start, duration
        index = bisect_right(self.closed_starts, moment)
        while index < len(self.closed) and self.closed[index][0] < moment + left:
            left -= self.closed[index][0] - moment
            moment = self.closed[index][1]
            index += 1
        return moment + left


def _rank(demand: Demand) -> tuple[int, bool, dt.date, int]:
    return (demand.priority, demand.due_date is None, demand.due_date or dt.date.max, demand.id)


def _resource(operation: Operation) -> str:
    return operation.equipment or operation.work_center or ""


def _due_end(due: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The end of day ``due`` at the site, in UTC."""
    return dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)


class _Planner:
    """Places jobs on the resources' timelines (step 4 of the module's algorithm)."""

    def __init__(
        self, now: dt.datetime, down: frozenset[str], closed: Sequence[tuple[float, float]] = ()
    ) -> None:
        self.now = now
        self.down = down
        self.closed = closed
        self.timelines: dict[str, _Timeline] = {}

    def timeline(self, resource: str) -> _Timeline:
        """The resource's timeline, closed when the site is."""
        if resource not in self.timelines:
            assumed = DOWN_ASSUMED.total_seconds() if resource in self.down else 0.0
            self.timelines[resource] = _Timeline(assumed, self.closed)
        return self.timelines[resource]

    def job(
        self, order: Demand, operation: Operation, quantity: float, ready: float
    ) -> tuple[PlannedOperation, float]:
        """One job placed; its plan and its finish in seconds from now."""
        resource = _resource(operation)
        notes = []
        if operation.cycle_time_s is None:
            notes.append("no cycle time declared")
        duration = (operation.cycle_time_s or 0.0) * quantity
        if resource and duration > 0:
            start, end = self.timeline(resource).book(ready, duration)
        else:
            start, end = ready, ready + duration
        if resource in self.down:
            notes.append(f"{resource} is down; assumed back in {DOWN_ASSUMED}")
        at = self.now + dt.timedelta(seconds=start)
        planned = PlannedOperation(
            order.number, operation.id, resource, quantity, at,
            self.now + dt.timedelta(seconds=end), "; ".join(notes),
        )  # fmt: skip
        return planned, end

    def order(self, order: Demand, plant: Plant) -> PlannedOrder:
        """Every remaining operation of ``order``, in routing order."""
        operations = plant.routing_for(order.product).operations
        first = operations[0].id
        waiting = {first if op == "" else op: q for op, q in order.waiting.items()}
        jobs: list[PlannedOperation] = []
        arriving = 0.0  # quantity coming from earlier operations
        previous_finish = 0.0
        for operation in operations:
            here = waiting.get(operation.id, 0.0)
            finish = 0.0
            for quantity, ready in ((here, 0.0), (arriving, previous_finish)):
                if quantity > 0:
                    planned, ends = self.job(order, operation, quantity, ready)
                    jobs.append(planned)
                    finish = max(finish, ends)
            if here or arriving:
                previous_finish = finish
            arriving += here
        zone = ZoneInfo(plant.site.timezone)
        done = self.now + dt.timedelta(seconds=previous_finish)
        return PlannedOrder(
            work_order=order.number,
            product=order.product,
            status=order.status,
            priority=order.priority,
            due_date=order.due_date,
            finish=done,
            late=order.due_date is not None and done > _due_end(order.due_date, zone),
            operations=tuple(jobs),
        )


def _closed(plants: Mapping[int, Plant], now: dt.datetime) -> list[tuple[float, float]]:
    """The newest plant's closed time ahead, as disjoint, sorted (start, end) seconds from
    ``now``: outside its shifts, in their breaks, and in its dated planned downtime (none
    without a calendar: then every hour is open)."""
    site = plants[max(plants)].site if plants else None
    if site is None or site.calendar is None:
        return []
    until = now + CLOSED_LOOKAHEAD
    closed: list[tuple[float, float]] = []
    opened = now
    for shift in shift_windows(site.calendar, site.timezone, now, until):
        closed.append((_seconds(opened, now), _seconds(shift.start, now)))
        closed += [(_seconds(a, now), _seconds(b, now)) for a, b in shift.breaks]
        opened = max(opened, shift.end)
    closed.append((_seconds(opened, now), _seconds(until, now)))
    for window in downtime_windows(site.calendar, site.timezone, now, until):
        closed.append((_seconds(window.start, now), _seconds(window.end, now)))
    merged: list[tuple[float, float]] = []
    for start, end in sorted((max(a, 0.0), b) for a, b in closed if b > max(a, 0.0)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _seconds(moment: dt.datetime, now: dt.datetime) -> float:
    return (moment - now).total_seconds()


def schedule(
    demand: Sequence[Demand],
    plants: Mapping[int, Plant],
    *,
    now: dt.datetime,
    down: frozenset[str] = frozenset(),
) -> Schedule:
    """The finite-capacity plan of ``demand`` from ``now`` (the module's algorithm); ``plants``
    holds the plant of each order's config version, ``down`` the equipment down now."""
    planner = _Planner(now, down, _closed(plants, now))
    orders = tuple(
        planner.order(order, plants[order.config_version_id]) for order in sorted(demand, key=_rank)
    )
    horizon = max((o.finish for o in orders), default=now)
    resources = sorted({job.resource for o in orders for job in o.operations if job.resource})
    return Schedule(now, orders, tuple(resources), horizon)
