"""Dispatch pages: the work-centre queue an operator lands on (pick the next unit or lot instead of
scanning one), reading a work order's plan from the supervisor's forms, and the schedule as a
Gantt chart drawn on the server (SVG).

A station tablet stands at one work centre: the one chosen on it is kept in a long-lived cookie
(:data:`WORK_CENTER_COOKIE`), so whoever signs in there sees that work centre's queue first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from engine.commands.workorders import WorkOrderPlan
from engine.errors import Invalid, NotFound
from engine.queries.queues import WorkCenterQueue
from engine.queries.schedule import Schedule
from engine.records.production import DEFAULT_PRIORITY
from web.auth import requires
from web.pages.nav import SUPERVISORS
from web.services import services

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")

WORK_CENTER_COOKIE = "ferrule_work_center"
COOKIE_DAYS = 400  # the longest a browser keeps a cookie
QUEUE_SHOWN = 50


def _site_today() -> dt.date:
    _, plant = services().ferrule.plant()
    return dt.datetime.now(ZoneInfo(plant.site.timezone)).date()


def station_queue() -> Response:
    """The station's landing page: the scan field and the queue of this station's work centre
    (``?work_center=`` chooses it and remembers it on this device), or the work centres to
    choose from."""
    dispatch = services().dispatch
    chosen = request.args.get("work_center")  # present but empty: choose again
    remembered = request.cookies.get(WORK_CENTER_COOKIE, "")
    name = remembered if chosen is None else chosen.strip()
    found: WorkCenterQueue | None = None
    message = ""
    if name:
        try:
            found = dispatch.queue(name, limit=QUEUE_SHOWN)
        except NotFound as missing:
            message = missing.message if chosen else ""
    html = render_template(
        "queue.html",
        queue=found,
        centers=dispatch.work_centers() if found is None else [],
        today=_site_today(),
        message=message,
        number="",
    )
    response = Response(html, status=404 if message else 200, mimetype="text/html")
    if found is not None and chosen:
        response.set_cookie(
            WORK_CENTER_COOKIE,
            found.work_center,
            max_age=COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=services().settings.secure_cookies,
        )
    elif remembered and found is None:
        response.delete_cookie(WORK_CENTER_COOKIE)
    return response


def plan_from_form(form: Mapping[str, str]) -> WorkOrderPlan:
    """The due date, priority and ERP reference typed into a supervisor's form; Invalid naming
    the field when one cannot be read."""
    due = form.get("due_date", "").strip()
    try:
        due_date = dt.date.fromisoformat(due) if due else None
    except ValueError:
        raise Invalid(
            f"The due date '{due}' is not a date; pick one, or write it like 2027-03-01.",
            field="due_date",
        ) from None
    priority = form.get("priority", "").strip() or str(DEFAULT_PRIORITY)
    if not priority.isdigit():
        raise Invalid(
            f"The priority '{priority}' is not a whole number; use 1 (most urgent) to 9.",
            field="priority",
        )
    return WorkOrderPlan(due_date, int(priority), form.get("erp_reference", ""))


# ---------------------------------------------------------------- the schedule as a Gantt chart

LABEL_W, CHART_W, ROW_H, AXIS_H = 150, 900, 30, 28
LABEL_MIN_W = 70  # a bar at least this wide shows its work order's number
TICK_STEPS_MIN = (1, 5, 15, 30, 60, 120, 360, 720, 1440, 2880, 10080)
MAX_TICKS = 12


def _tick_step(span: dt.timedelta) -> dt.timedelta:
    """The smallest round step that draws at most :data:`MAX_TICKS` ticks over ``span``."""
    minutes = span.total_seconds() / 60
    step = next((s for s in TICK_STEPS_MIN if minutes / s <= MAX_TICKS), TICK_STEPS_MIN[-1])
    return dt.timedelta(minutes=step)


@dataclass(frozen=True, slots=True)
class Bar:
    """One job drawn: where, and what its title (the hover text) says."""

    x: float
    y: float
    width: float
    late: bool
    noted: bool
    title: str
    label: str


@dataclass(frozen=True, slots=True)
class Gantt:
    """The geometry of the chart that ``dispatch_gantt.html`` draws as SVG."""

    width: int
    height: int
    ticks: tuple[tuple[float, str], ...]
    rows: tuple[tuple[float, str], ...]
    bars: tuple[Bar, ...]
    bar_height: int


def _round_times(
    first: dt.datetime, last: dt.datetime, step: dt.timedelta, zone: ZoneInfo
) -> list[dt.datetime]:
    """The whole multiples of ``step`` after the site's midnight, from ``first`` to ``last``."""
    local = first.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    at = midnight + step * ((local - midnight) // step + 1)
    times = []
    while at <= last:
        times.append(at)
        at += step
    return times


def gantt(plan: Schedule, zone: ZoneInfo) -> Gantt:
    """The plan as a Gantt chart: a row per resource, a bar per job (late orders' apart), ticks
    at round times in the site's time zone; each bar's title says what it is."""
    span = max(plan.horizon - plan.planned_at, dt.timedelta(minutes=10))
    step = _tick_step(span)
    scale = CHART_W / span.total_seconds()
    rows = {name: index for index, name in enumerate(plan.resources)}

    def x(at: dt.datetime) -> float:
        return round(LABEL_W + (at - plan.planned_at).total_seconds() * scale, 1)

    tick_format = "%H:%M" if step < dt.timedelta(days=1) else "%d %b"
    ticks = tuple(
        (x(at), at.astimezone(zone).strftime(tick_format))
        for at in _round_times(plan.planned_at, plan.planned_at + span, step, zone)
    )
    bars = []
    for order in plan.orders:
        for job in order.operations:
            if not job.resource:
                continue
            start, finish = job.start.astimezone(zone), job.finish.astimezone(zone)
            title = (
                f"{order.work_order} · {job.operation} · {job.quantity:g} · "
                f"{start:%d %b %H:%M}–{finish:%H:%M}" + (f" · {job.note}" if job.note else "")
            )
            left = x(job.start)
            bars.append(
                Bar(
                    x=left,
                    y=AXIS_H + rows[job.resource] * ROW_H + 4,
                    width=max(x(job.finish) - left, 1.5),
                    late=order.late,
                    noted=bool(job.note),
                    title=title,
                    label=order.work_order if x(job.finish) - left >= LABEL_MIN_W else "",
                )
            )
    return Gantt(
        width=LABEL_W + CHART_W + 10,
        height=AXIS_H + ROW_H * len(rows) + 4,
        ticks=ticks,
        rows=tuple((AXIS_H + index * ROW_H + ROW_H * 0.65, name) for name, index in rows.items()),
        bars=tuple(bars),
        bar_height=ROW_H - 8,
    )


@bp.get("/schedule")
@requires(*SUPERVISORS)
def schedule() -> ResponseReturnValue:
    """The finite-capacity schedule of the open work, late orders first in the list."""
    plan = services().dispatch.schedule()
    _, plant = services().ferrule.plant()
    zone = ZoneInfo(plant.site.timezone)
    return render_template(
        "dispatch_schedule.html",
        plan=plan,
        chart=gantt(plan, zone),
        zone=zone,
        by_lateness=sorted(plan.orders, key=lambda o: (not o.late, o.finish)),
    )
