"""Reading control charts: the charts a plant declares, one chart's points with their limits,
signals and capability, the signals waiting for acknowledgement, and the SPC events of an item
for its history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Plant, SpcChart
from engine.errors import NotFound
from engine.floor.spc import (
    Baseline,
    Capability,
    capability,
    chart_key,
    dispersion_limits,
    given,
    limits,
)
from engine.infra.jsonable import Jsonable
from engine.records.production import Item, table
from engine.records.spc import SpcAcknowledgement, SpcLimits, SpcObservation, SpcPoint, SpcSignal

_points = table(SpcPoint)
_observations = table(SpcObservation)
_limits = table(SpcLimits)
_signals = table(SpcSignal)
_acks = table(SpcAcknowledgement)
_items = table(Item)
MAX_POINTS = 500
"""The most points a chart shows: the latest ones."""


@dataclass(frozen=True, slots=True)
class ChartSummary(Jsonable):
    """A chart the plant declares, by its key."""

    key: str
    routing: str
    operation: str
    source: str
    kind: str
    on_signal: str


@dataclass(frozen=True, slots=True)
class PlottedPoint(Jsonable):
    """A point as drawn: its number on the chart, the item that closed it, its value and
    spread, the limits it is judged by, and the rules it broke on the location chart."""

    number: int
    item: str
    value: float
    spread: float | None
    center: float | None
    lcl: float | None
    ucl: float | None
    at: dt.datetime
    rules: tuple[str, ...]
    spread_rules: tuple[str, ...]
    """The rules broken on the range, standard deviation or moving range chart."""


@dataclass(frozen=True, slots=True)
class SignalView(Jsonable):
    """A signal with its acknowledgement, if any."""

    id: int
    chart: str
    item: str
    rule: str
    on_chart: str
    description: str
    action: str
    at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    comment: str


@dataclass(frozen=True, slots=True)
class LimitsView(Jsonable):
    """The chart's limits: ``origin`` is ``given``, ``baseline`` (with the number of
    subgroups behind it) or ``collecting`` (baseline not complete: no limits yet)."""

    origin: str
    baseline_points: int
    center: float | None
    lcl: float | None
    ucl: float | None
    sigma: float | None
    spread_center: float | None
    spread_lcl: float | None
    spread_ucl: float | None


@dataclass(frozen=True, slots=True)
class CapabilityView(Jsonable):
    """Cp, Cpk, Pp, Ppk and the number of values behind them."""

    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    points: int
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class ChartView(Jsonable):
    """One chart, ready to draw."""

    chart: ChartSummary
    unit: str | None
    rules: tuple[str, ...]
    subgroup: int
    limits: LimitsView
    points: tuple[PlottedPoint, ...]
    total_points: int
    capability: CapabilityView | None
    signals: tuple[SignalView, ...]


def declared(plant: Plant) -> list[tuple[ChartSummary, SpcChart]]:
    """Every chart the plant declares, in routing and operation order."""
    return [
        (
            ChartSummary(
                chart_key(routing.name, op.id, chart),
                routing.name,
                op.id,
                chart.source,
                chart.chart,
                chart.on_signal,
            ),
            chart,
        )
        for routing in plant.routings.values()
        for op in routing.operations
        for chart in op.spc
    ]


def chart_view(session: Session, plant: Plant, key: str) -> ChartView:
    """The chart ``key`` with its latest :data:`MAX_POINTS` points; NotFound if the plant does
    not declare it."""
    found = {summary.key: (summary, chart) for summary, chart in declared(plant)}
    if key not in found:
        raise NotFound(f"The plant declares no control chart '{key}'.")
    summary, chart = found[key]
    baseline = given(chart) or _stored(session, key)
    rows = session.execute(
        select(_points, _items.c.number)
        .join(_items, _items.c.id == _points.c.item_id)
        .where(_points.c.chart == key)
        .order_by(_points.c.id.desc())
        .limit(MAX_POINTS)
    ).all()
    count = session.execute(select(func.count()).where(_points.c.chart == key)).scalar_one()
    fired: dict[tuple[int, str], list[str]] = {}
    for point_id, rule, on_chart in session.execute(
        select(_signals.c.point_id, _signals.c.rule, _signals.c.on_chart).where(
            _signals.c.chart == key
        )
    ):
        fired.setdefault((point_id, on_chart), []).append(rule)
    first = count - len(rows) + 1
    points = tuple(
        _plotted(
            number,
            row,
            baseline,
            tuple(fired.get((row.id, "location"), ())),
            tuple(fired.get((row.id, "dispersion"), ())),
        )
        for number, row in enumerate(reversed(rows), first)
    )

    return ChartView(
        chart=summary,
        unit=chart.unit,
        rules=chart.rules,
        subgroup=chart.subgroup,
        limits=_limits_view(chart, baseline),
        points=points,
        total_points=count,
        capability=_capability(session, key, chart, baseline),
        signals=tuple(signals(session, chart=key)),
    )


def _plotted(
    number: int,
    row: Any,
    baseline: Baseline | None,
    rules: tuple[str, ...],
    spread_rules: tuple[str, ...],
) -> PlottedPoint:
    """A point recorded while the baseline was collected is drawn against the limits it set."""
    center, lcl, ucl = row.center, row.lcl, row.ucl
    if center is None and baseline is not None:
        placed = limits(baseline, row.size)
        center, lcl, ucl = placed.center, placed.lcl, placed.ucl
    return PlottedPoint(
        number, row.number, row.value, row.spread, center, lcl, ucl, row.at, rules, spread_rules
    )


def _stored(session: Session, key: str) -> Baseline | None:
    row = session.execute(
        select(_limits).where(_limits.c.chart == key).order_by(_limits.c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return None
    return Baseline(row.kind, row.subgroup, row.center, row.spread, row.sigma, row.points)


def _limits_view(chart: SpcChart, baseline: Baseline | None) -> LimitsView:
    if baseline is None:
        return LimitsView("collecting", chart.baseline or 0, *([None] * 7))
    placed = limits(baseline, chart.sample_size)
    spread = dispersion_limits(baseline)
    return LimitsView(
        "given" if chart.center is not None else "baseline",
        baseline.points,
        placed.center, placed.lcl, placed.ucl, placed.sigma,
        spread.center if spread else None,
        spread.lcl if spread else None,
        spread.ucl if spread else None,
    )  # fmt: skip


def _capability(
    session: Session, key: str, chart: SpcChart, baseline: Baseline | None
) -> CapabilityView | None:
    """Capability of a variables chart with limits, over every value recorded for it."""
    if baseline is None or chart.chart not in ("i-mr", "xbar-r", "xbar-s"):
        return None
    if chart.low is None and chart.high is None:
        return None
    values = session.execute(
        select(_observations.c.value).where(_observations.c.chart == key)
    ).scalars().all()  # fmt: skip
    if not values:
        return None
    found: Capability = capability(baseline, values, chart.low, chart.high)
    return CapabilityView(
        found.cp, found.cpk, found.pp, found.ppk, found.points, chart.low, chart.high
    )


def signals(
    session: Session,
    *,
    chart: str | None = None,
    item_id: int | None = None,
    signal_id: int | None = None,
    open_only: bool = False,
) -> list[SignalView]:
    """Signals, newest first: of one chart or item, or those not yet acknowledged."""
    query = (
        select(_signals, _items.c.number, _acks.c.actor, _acks.c.at.label("ack_at"),
               _acks.c.comment)
        .join(_items, _items.c.id == _signals.c.item_id)
        .outerjoin(_acks, _acks.c.signal_id == _signals.c.id)
        .order_by(_signals.c.id.desc())
        .limit(MAX_POINTS)
    )  # fmt: skip
    if chart is not None:
        query = query.where(_signals.c.chart == chart)
    if item_id is not None:
        query = query.where(_signals.c.item_id == item_id)
    if signal_id is not None:
        query = query.where(_signals.c.id == signal_id)
    if open_only:
        query = query.where(_acks.c.id.is_(None))
    return [
        SignalView(
            r.id,
            r.chart,
            r.number,
            r.rule,
            r.on_chart,
            r.description,
            r.action,
            r.at,
            r.actor,
            r.ack_at,
            r.comment or "",
        )
        for r in session.execute(query)
    ]


def spc_summary(signal: SignalView) -> str:
    """A signal in one line, as an item's history shows it."""
    source = signal.chart.split("/")[2]
    acknowledged = f"; acknowledged by {signal.acknowledged_by}" if signal.acknowledged_by else ""
    return (
        f"SPC signal on {source}: {signal.description} ({signal.rule}), "
        f"on_signal {signal.action}{acknowledged}"
    )
