"""The OEE page: a work centre's (or machine's) ISO 22400-2 KPIs for one local day, drawn by the
server as SVG — availability × effectiveness × quality, the six big losses, the downtime Pareto,
each shift's figures, the OEE index per shift over the last week, each work order's allocation
ratio and a timeline per machine (states as coloured bands, coded reasons in their tooltips) —
and the stops of a machine, where an operator or supervisor codes (or splits and re-codes) a
stop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.commands.downtime import Stop, TimelineBand
from engine.errors import DomainError
from engine.facade.performance import LossReport, Performance, ShiftKpis, StopPart
from engine.queries.oee import OeeReport
from web.api_oee import timestamp
from web.auth import require_caller, requires
from web.errors import BadRequest
from web.pages.nav import READERS, RUNNERS, SUPERVISORS
from web.services import services

bp = Blueprint("oee", __name__, url_prefix="/oee")
WIDTH = 960
LABEL = 150  # pixels left of the bars for their labels
STATE_FILLS = {
    "running": "#12b76a",
    "setup": "#2e90fa",
    "idle": "#fdb022",
    "down": "#f04438",
    "unknown": "#98a2b3",
}
SIX_LOSSES = (
    ("Breakdowns", "breakdowns_s"),
    ("Setup and adjustments", "setup_s"),
    ("Small stops", "small_stops_s"),
    ("Reduced speed", "reduced_speed_s"),
    ("Startup rejects", "startup_rejects_s"),
    ("Production rejects", "production_rejects_s"),
)
TREND_DAYS = 7
TREND_H = 220
TREND_TOP, TREND_BOTTOM = 12, 40  # pixels above 100 % and below 0 % (for the shift labels)
FACTORS = (
    ("Availability", "availability"),
    ("Effectiveness", "effectiveness"),
    ("Quality ratio", "quality_ratio"),
    ("OEE index", "oee_index"),
)


@dataclass(frozen=True, slots=True)
class Bar:
    """A horizontal bar: ``label``, its width in pixels and the value shown beside it."""

    label: str
    width: float
    shown: str


@dataclass(frozen=True, slots=True)
class Band:
    """One band of a timeline, in pixels, with its tooltip."""

    x: float
    width: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """One machine's day."""

    equipment: str
    bands: tuple[Band, ...]


def performance() -> Performance:
    """The performance facade over the app's database."""
    return Performance(services().config.db, services().tags)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def factor_bars(report: OeeReport) -> list[Bar]:
    """Availability, effectiveness, quality ratio and their product, as bars of the full width."""
    span = WIDTH - LABEL - 90
    return [
        Bar(label, span * min(getattr(report.kpis, name) or 0.0, 1.0),
            percent(getattr(report.kpis, name)))
        for label, name in FACTORS
    ]  # fmt: skip


def pareto_bars(report: OeeReport) -> list[Bar]:
    """Unplanned downtime by reason, longest first, scaled to the longest."""
    longest = max((loss.seconds for loss in report.losses), default=0.0)
    span = WIDTH - LABEL - 90
    return [
        Bar(loss.reason, span * loss.seconds / longest, f"{loss.seconds / 60:.0f} min")
        for loss in report.losses
    ]


def loss_bars(report: LossReport) -> list[Bar]:
    """The six big losses as bars scaled to the largest (a negative speed loss draws none)."""
    values = [(label, getattr(report.losses, name)) for label, name in SIX_LOSSES]
    largest = max((max(v, 0.0) for _, v in values), default=0.0)
    span = WIDTH - LABEL - 90
    return [
        Bar(label, span * max(v, 0.0) / largest if largest else 0.0, f"{v / 60:.1f} min")
        for label, v in values
    ]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One shift on the trend chart: where (pixels), its label, and its OEE index shown."""

    x: float
    y: float | None
    label: str
    shown: str


def trend(shifts: Sequence[ShiftKpis]) -> list[TrendPoint]:
    """The OEE index of each shift, oldest first, evenly spaced; None where it has none."""
    step = (WIDTH - LABEL - 30) / max(len(shifts) - 1, 1)
    scale = TREND_H - TREND_TOP - TREND_BOTTOM
    points = []
    for index, shift in enumerate(shifts):
        value = shift.report.kpis.oee_index
        y = None if value is None else TREND_TOP + (1 - min(max(value, 0.0), 1.0)) * scale
        label = f"{shift.day:%d.%m} {shift.shift}"
        points.append(TrendPoint(LABEL + index * step, y, label, percent(value)))
    return points


def timeline(
    equipment: str, start: dt.datetime, end: dt.datetime, bands: Sequence[TimelineBand]
) -> Timeline:
    """Bands in pixels; stretches under a pixel join the band before them (1 Hz changes over a
    day would be 86,400 rectangles)."""
    scale = (WIDTH - LABEL) / (end - start).total_seconds()
    drawn: list[Band] = []
    for band in bands:
        x = LABEL + (band.start - start).total_seconds() * scale
        width = (band.end - band.start).total_seconds() * scale
        if drawn and drawn[-1].width < 1:
            last = drawn.pop()
            drawn.append(Band(last.x, x + width - last.x, last.fill, last.title))
            continue
        title = f"{band.state} {band.start:%H:%M:%S}–{band.end:%H:%M:%S} UTC"
        if band.reason:
            title += f" · {band.reason}"
        drawn.append(Band(x, width, STATE_FILLS[band.state], title))
    return Timeline(equipment, tuple(drawn))


@bp.app_template_global()
def stops_to_code(work_center: str) -> list[Stop]:
    """For the station: the work centre's stops of the last day that still need a reason."""
    return performance().stops_to_code(work_center=work_center)


def _day() -> dt.date:
    text = request.args.get("day")
    if not text:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"day: {text!r} is not a date; write it like 2027-03-26.") from None


@bp.get("/")
@requires(*READERS)
def index() -> ResponseReturnValue:
    """A work centre's KPIs for a local day (``?work_center=…&day=YYYY-MM-DD``)."""
    perf = performance()
    centers = perf.work_centers_with_equipment()
    center = request.args.get("work_center") or (centers[0] if centers else "")
    day = _day()
    start, end = perf.day(day)
    report = perf.oee(work_center=center, start=start, end=end) if center else None
    shifts = perf.oee_per_shift(work_center=center, start=start, end=end) if center else []
    losses = perf.losses(work_center=center, start=start, end=end) if center else None
    week_start, _ = perf.day(day - dt.timedelta(days=TREND_DAYS - 1))
    week = perf.oee_per_shift(work_center=center, start=week_start, end=end) if center else []
    timelines = [
        timeline(name, start, end, perf.timeline(equipment=name, start=start, end=end))
        for name in (report.equipment if report else ())
    ]
    html = render_template(
        "oee_page.html", centers=centers, center=center, day=day, report=report,
        factors=factor_bars(report) if report else [], pareto=pareto_bars(report) if report else [],
        shifts=shifts, timelines=timelines, width=WIDTH, label=LABEL, fills=STATE_FILLS,
        percent=percent, losses=losses, loss_bars=loss_bars(losses) if losses else [],
        trend=trend(week), trend_h=TREND_H, trend_top=TREND_TOP, trend_bottom=TREND_BOTTOM,
    )  # fmt: skip
    return Response(html, mimetype="text/html")


@bp.get("/stops/<equipment>")
@requires(*RUNNERS, *READERS)
def stops(equipment: str) -> ResponseReturnValue:
    """A machine's stops on a local day, with a form to code each."""
    perf = performance()
    day = _day()
    start, end = perf.day(day)
    found = perf.stops(equipment=equipment, start=start, end=end)
    html = render_template(
        "oee_stops.html", equipment=equipment, day=day, stops=found,
        reasons=perf.reasons(equipment),
    )  # fmt: skip
    return Response(html, mimetype="text/html")


@bp.post("/stops/<equipment>")
@requires(*RUNNERS, *SUPERVISORS)
def code(equipment: str) -> ResponseReturnValue:
    """Code a stretch of a stop (the whole stop, or a part: a split)."""
    form = request.form
    back = url_for("oee.stops", equipment=equipment, day=form.get("day", ""))
    try:
        part = StopPart(
            timestamp(form.get("start", ""), "start"),
            timestamp(form.get("end", ""), "end"),
            form.get("reason", "").strip(),
        )
        performance().code_stop(
            actor=require_caller().username, equipment=equipment, parts=[part],
            comment=form.get("comment", "").strip(),
        )  # fmt: skip
    except (DomainError, BadRequest) as error:
        flash(error.message, "error")
        return redirect(back, 303)
    flash(f"Coded {part.start:%H:%M:%S}–{part.end:%H:%M:%S} UTC as {part.reason}.", "success")
    return redirect(back, 303)
