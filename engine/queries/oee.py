"""OEE and the other ISO 22400-2 KPIs of a machine or work centre over a period.

Periods start and end on the quarter-hour (days and shifts always do). Equipment time comes from
the quarter-hour state buckets (a month is ~3,000 rows a machine, not millions of changes) plus
the machine's current state since its last change; a bucket counts when it lies in a shift and
not in a break (the site's calendar; every hour counts without one). The calendar's dated planned
downtime (a shutdown, a maintenance window) and stops coded with a planned reason are planned
downtime, taken out of the planned busy time; unplanned codings make the downtime Pareto.
Quantities are the operation runs completed on the machines in the period. See
:mod:`engine.floor.kpis` for the definitions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from dsl.calendars import ShiftWindow, downtime_windows, shift_windows
from dsl.model import Plant
from engine.errors import Invalid, NotFound
from engine.floor import kpis
from engine.floor.completions import completions
from engine.floor.kpis import Kpis, Quantities, Span, TimeModel
from engine.infra.jsonable import Jsonable
from engine.records.base import UtcDateTime
from engine.records.downtime import (
    DowntimeCoding,
    EquipmentStateBucket,
    ProductionBucket,
    ProductionWatermark,
)
from engine.records.tables import EquipmentRecord

GOOD_ROUTES = frozenset({"next", "completed"})
UNCODED = "uncoded"
WINDOWS_PER_QUERY = 100  # SQLite allows 500 SELECTs in a UNION


@dataclass(frozen=True, slots=True)
class Loss(Jsonable):
    """Unplanned downtime by reason (``uncoded``: stops nobody gave a reason)."""

    reason: str
    seconds: float


@dataclass(frozen=True, slots=True)
class OeeReport(Jsonable):
    """The KPIs of ``equipment`` (and ``product`` when given) from ``start`` to ``end``."""

    scope: str
    equipment: tuple[str, ...]
    product: str | None
    start: dt.datetime
    end: dt.datetime
    times: TimeModel
    quantities: Quantities
    kpis: Kpis
    losses: tuple[Loss, ...]  # the downtime Pareto, largest first


def scope_equipment(plant: Plant, *, equipment: str | None, work_center: str | None) -> list[str]:
    """The machines a KPI is asked for: one, or every machine of a work centre."""
    if equipment is not None:
        if equipment not in plant.equipment:
            raise NotFound(f"There is no equipment '{equipment}' in the deployed config.")
        return [equipment]
    if work_center is None or work_center not in plant.work_centers:
        raise NotFound(f"There is no work center '{work_center}' in the deployed config.")
    names = sorted(n for n, e in plant.equipment.items() if e.work_center == work_center)
    if not names:
        raise Invalid(f"Work center '{work_center}' has no equipment to measure.")
    return names


def busy_windows(plant: Plant, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """Shift time without breaks inside ``start``–``end`` (all of it with no calendar)."""
    calendar = plant.site.calendar
    if calendar is None:
        return [(start, end)]
    spans: list[Span] = []
    for window in shift_windows(calendar, plant.site.timezone, start, end):
        clipped = (max(window.start, start), min(window.end, end))
        spans.extend(kpis.subtract([clipped], list(window.breaks)))
    return spans


def dated_downtime(plant: Plant, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The calendar's dated planned downtime inside ``start``–``end``, merged where it overlaps."""
    calendar = plant.site.calendar
    if calendar is None:
        return []
    found = downtime_windows(calendar, plant.site.timezone, start, end)
    return kpis.merge([(w.start, w.end) for w in found])


def shifts(plant: Plant, start: dt.datetime, end: dt.datetime) -> list[ShiftWindow]:
    """The site's shifts overlapping ``start``–``end``."""
    calendar = plant.site.calendar
    return [] if calendar is None else shift_windows(calendar, plant.site.timezone, start, end)


def oee(
    session: Session,
    plant: Plant,
    *,
    scope: str,
    equipment: list[str],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    product: str | None = None,
) -> OeeReport:
    """The KPIs of the machines over ``start``–``end`` (quarter-hours; nothing after ``now``)."""
    if not (kpis.on_grid(start) and kpis.on_grid(end)) or end <= start:
        raise Invalid(
            f"A KPI period runs forward from quarter-hour to quarter-hour; {start.isoformat()} "
            f"to {end.isoformat()} does not.",
            field="start",
        )
    upto = min(end, max(now, start))
    shift_time = busy_windows(plant, start, upto)
    dated = dated_downtime(plant, start, upto)
    busy = planned_busy(plant, start, upto)
    dated_s = kpis.overlap_s(shift_time, dated) * len(equipment)
    seconds = _state_seconds(session, equipment, start=start, end=end, now=now, busy=busy)
    codings = _codings(session, equipment, start, end)
    planned_s, unplanned = 0.0, defaultdict[str, float](float)
    for name in equipment:
        layers = [((c.start, c.end), c.reason) for c in codings if c.equipment == name]
        for span, reason in kpis.paint(layers):
            shared = kpis.overlap_s([span], busy)
            if reason.startswith("planned/"):
                planned_s += shared
            else:
                unplanned[reason] += shared
    busy_s = sum((e - s).total_seconds() for s, e in busy) * len(equipment)
    stopped_s = sum(v for state, v in seconds.items() if state not in ("running", "setup"))
    delay_s = max(stopped_s - planned_s, 0.0)
    uncoded = delay_s - sum(unplanned.values())
    losses = sorted(
        (Loss(r, s) for r, s in {**unplanned, UNCODED: max(uncoded, 0.0)}.items() if s > 0),
        key=lambda loss: -loss.seconds,
    )
    times = TimeModel(
        planned_busy_s=busy_s - planned_s,
        planned_downtime_s=planned_s + dated_s,
        production_s=seconds.get("running", 0.0),
        setup_s=seconds.get("setup", 0.0),
        delay_s=delay_s,
        unknown_s=seconds.get("unknown", 0.0),
    )
    quantities = _quantities(session, plant, equipment, start=start, end=end, product=product)
    return OeeReport(
        scope, tuple(equipment), product, start, end, times, quantities,
        kpis.kpis(times, quantities), tuple(losses),
    )  # fmt: skip


def _state_seconds(
    session: Session,
    equipment: list[str],
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    busy: list[Span],
) -> dict[str, float]:
    """Seconds per state of the machines in the busy windows."""
    totals: dict[str, float] = defaultdict(float)
    if not busy:
        return totals
    counted = {bucket for s, e in busy for bucket, _ in kpis.quarter_hours(s, e)}
    for first in range(0, len(busy), WINDOWS_PER_QUERY):
        windows = busy[first : first + WINDOWS_PER_QUERY]
        values: dict[str, object] = {"equipment": equipment}
        for i, (low, high) in enumerate(windows):
            values[f"low{i}"], values[f"high{i}"] = low, high
        for state, seconds in session.execute(_busy_seconds(len(windows)), values):
            totals[state] += seconds
    for record in session.scalars(
        select(EquipmentRecord).where(EquipmentRecord.name.in_(equipment))
    ):
        open_end = min(end, now)
        for bucket, seconds in kpis.quarter_hours(max(record.state_since, start), open_end):
            if bucket in counted:
                totals[record.state] += seconds
    return totals


@functools.cache
def _busy_seconds(windows: int) -> TextClause:
    """Seconds per state in the buckets of ``windows`` time ranges: one index range each, summed
    (a UNION ALL: SQLite reads each range by the key, where ORs of ranges would scan them all)."""
    table = EquipmentStateBucket.__tablename__
    ranges = " UNION ALL ".join(
        f"SELECT state, seconds FROM {table} WHERE equipment IN :equipment "  # noqa: S608 (constants)
        f"AND start >= :low{i} AND start < :high{i}"
        for i in range(windows)
    )
    stamps = [
        bindparam(f"{edge}{i}", type_=UtcDateTime())
        for i in range(windows)
        for edge in ("low", "high")
    ]
    summed = f"SELECT state, SUM(seconds) FROM ({ranges}) AS busy GROUP BY state"  # noqa: S608
    return text(summed).bindparams(bindparam("equipment", expanding=True), *stamps)


def planned_busy(plant: Plant, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """Shift time without breaks and without the calendar's dated planned downtime."""
    return kpis.subtract(busy_windows(plant, start, end), dated_downtime(plant, start, end))


def planned_codings(
    session: Session, equipment: str, start: dt.datetime, end: dt.datetime
) -> list[Span]:
    """The stretches of the machine coded with a planned reason (the newest coding holds)."""
    layers = [((c.start, c.end), c.reason) for c in _codings(session, [equipment], start, end)]
    return [span for span, reason in kpis.paint(layers) if reason.startswith("planned/")]


def _codings(
    session: Session, equipment: list[str], start: dt.datetime, end: dt.datetime
) -> list[DowntimeCoding]:
    return list(
        session.scalars(
            select(DowntimeCoding)
            .where(DowntimeCoding.equipment.in_(equipment))
            .where(DowntimeCoding.start < end, DowntimeCoding.end > start)
            .order_by(DowntimeCoding.id)
        )
    )


def _quantities(
    session: Session,
    plant: Plant,
    equipment: list[str],
    *,
    start: dt.datetime,
    end: dt.datetime,
    product: str | None,
) -> Quantities:
    """Units completed on the machines: the production buckets up to the machines' common
    watermark, the runs themselves after it."""
    marks = session.scalars(
        select(ProductionWatermark.until).where(ProductionWatermark.equipment.in_(equipment))
    ).all()
    summed = min(marks) if len(marks) == len(equipment) else start
    summed = min(max(summed, start), end)
    query = (
        select(
            ProductionBucket.routing,
            ProductionBucket.operation,
            ProductionBucket.route,
            func.sum(ProductionBucket.quantity),
            func.sum(ProductionBucket.first_quantity),
        )
        .where(ProductionBucket.equipment.in_(equipment))
        .where(ProductionBucket.start >= start, ProductionBucket.start < summed)
        .group_by(ProductionBucket.routing, ProductionBucket.operation, ProductionBucket.route)
    )
    if product is not None:
        query = query.where(ProductionBucket.product == product)
    rows = [(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in session.execute(query)]
    for name in equipment:
        rows.extend(
            (r.routing, r.operation, r.route, r.quantity, r.first_quantity)
            for r in completions(session, name, summed, end)
            if product is None or r.product == product
        )
    produced = good = scrap = rework = first = first_good = ideal = 0.0
    for routing, operation, route, quantity, first_quantity in rows:
        produced += quantity
        first += first_quantity
        if route in GOOD_ROUTES:
            good += quantity
            first_good += first_quantity
        scrap += quantity if route == "scrap" else 0.0
        rework += quantity if route == "rework" else 0.0
        ideal += cycle_time(plant, routing, operation) * quantity
    return Quantities(produced, good, scrap, rework, first, first_good, ideal)


def cycle_time(plant: Plant, routing: str, operation: str) -> float:
    """The operation's ideal seconds per unit (0 when the config declares none)."""
    config = plant.routings.get(routing)
    if config is None:
        return 0.0
    found = next((op for op in config.operations if op.id == operation), None)
    return (found.cycle_time_s or 0.0) if found is not None else 0.0
