"""SPC pages: the control charts of the deployed plant, each drawn by the server as SVG (limits,
zones, signals marked, every point linked to the unit that closed it), with capability and the
signals a quality user acknowledges."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import DomainError, NotFound
from engine.facade.spc import Spc
from engine.queries.spc import ChartView
from web.auth import require_caller, requires
from web.errors import domain_status
from web.pages.nav import QUALITY, READERS
from web.services import services

bp = Blueprint("spc", __name__, url_prefix="/spc")
DONE = "done"
WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 120, 16, 30
_ZONE_FILLS = ("#dcfae6", "#fef0c7", "#fee4e2")  # within 1, 2 and 3 sigma


def charts() -> Spc:
    """The SPC facade over the app's database."""
    return Spc(services().config.db)


def _render(template: str, status: int = 200, **context: object) -> Response:
    """A page of this blueprint; ``can_acknowledge``: the caller may acknowledge signals."""
    allowed = bool(require_caller().roles & set(QUALITY))
    html = render_template(template, can_acknowledge=allowed, **context)
    return Response(html, status=status, mimetype="text/html")


@dataclass(frozen=True, slots=True)
class Mark:
    """A horizontal line across the plot: ``y`` in pixels, its label and kind (center, limit)."""

    y: float
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Band:
    """A zone between two sigma lines."""

    y: float
    height: float
    fill: str


@dataclass(frozen=True, slots=True)
class Dot:
    """A plotted point, linked to its unit; ``rules`` it broke (empty: in control)."""

    x: float
    y: float
    number: int
    item: str
    value: str
    rules: str


@dataclass(frozen=True, slots=True)
class Plot:
    """One chart in pixels, ready for the ``spc_plot.html`` template."""

    title: str
    width: int
    height: int
    line: str
    marks: tuple[Mark, ...]
    bands: tuple[Band, ...]
    dots: tuple[Dot, ...]
    ticks: tuple[tuple[float, int], ...]


def _shown(value: float) -> str:
    return f"{value:.6g}"


def plot(
    title: str,
    points: Sequence[tuple[int, str, float, tuple[str, ...]]],
    center: float | None,
    lcl: float | None,
    ucl: float | None,
) -> Plot:
    """Lay out ``points`` (number, item, value, rules broken) with the center line, the control
    limits and, between them, the zones of one, two and three sigma."""
    values = [p[2] for p in points]
    levels = [v for v in (center, lcl, ucl) if v is not None]
    low, high = min([*values, *levels], default=0.0), max([*values, *levels], default=1.0)
    pad = (high - low) * 0.08 or abs(high) * 0.01 or 1.0
    low, high = low - pad, high + pad
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return round(TOP + (high - value) / (high - low) * inner_h, 1)

    step = inner_w / max(len(points) - 1, 1)
    dots = tuple(
        Dot(round(LEFT + i * step, 1), y_of(value), number, item, _shown(value), " ".join(rules))
        for i, (number, item, value, rules) in enumerate(points)
    )
    marks: list[Mark] = []
    bands: list[Band] = []
    if center is not None:
        marks.append(Mark(y_of(center), f"CL {_shown(center)}", "center"))
        for label, limit in (("UCL", ucl), ("LCL", lcl)):
            if limit is not None:
                marks.append(Mark(y_of(limit), f"{label} {_shown(limit)}", "limit"))
        if ucl is not None and ucl > center:
            sigma = (ucl - center) / 3
            floor = lcl if lcl is not None else -math.inf
            for k, fill in enumerate(_ZONE_FILLS):
                for inner, outer in ((k, k + 1), (-k - 1, -k)):
                    top = center + outer * sigma
                    bottom = max(center + inner * sigma, floor)
                    if top > bottom:
                        bands.append(Band(y_of(top), round(y_of(bottom) - y_of(top), 1), fill))
    every = max(1, len(points) // 12)
    ticks = tuple((d.x, d.number) for i, d in enumerate(dots) if i % every == 0)
    return Plot(
        title,
        WIDTH,
        HEIGHT,
        " ".join(f"{d.x},{d.y}" for d in dots),
        tuple(marks),
        tuple(bands),
        dots,
        ticks,
    )


_SPREAD_TITLES = {"i-mr": "Moving range", "xbar-r": "Range", "xbar-s": "Standard deviation"}
_LOCATION_TITLES = {
    "i-mr": "Individuals",
    "xbar-r": "Subgroup mean",
    "xbar-s": "Subgroup mean",
    "p": "Fraction nonconforming",
    "np": "Number nonconforming",
    "c": "Defects",
    "u": "Defects per unit",
}


def plots(view: ChartView) -> list[Plot]:
    """The location (or attribute) chart, and the dispersion chart of a variables chart."""
    limits = view.limits
    result = [
        plot(
            _LOCATION_TITLES[view.chart.kind],
            [(p.number, p.item, p.value, p.rules) for p in view.points],
            limits.center,
            limits.lcl,
            limits.ucl,
        )
    ]
    if view.chart.kind in _SPREAD_TITLES:
        spread = [(p.number, p.item, p.spread, p.spread_rules) for p in view.points]
        result.append(
            plot(
                _SPREAD_TITLES[view.chart.kind],
                [(n, i, v, r) for n, i, v, r in spread if v is not None],
                limits.spread_center,
                limits.spread_lcl,
                limits.spread_ucl,
            )
        )
    return result


@bp.get("/")
@requires(*READERS)
def index() -> ResponseReturnValue:
    """Every chart of the deployed plant, and the signals waiting for quality."""
    spc = charts()
    try:
        declared = spc.charts()
    except NotFound as missing:
        return _render("spc_index.html", 404, charts=[], signals=[], message=missing.message)
    return _render("spc_index.html", charts=declared, signals=spc.open_signals())


@bp.get("/chart/<path:key>")
@requires(*READERS)
def chart(key: str) -> ResponseReturnValue:
    """One chart, drawn, with its capability and signals."""
    try:
        view = charts().chart(key)
    except NotFound as missing:
        return _render("spc_index.html", 404, charts=[], signals=[], message=missing.message)
    return _render("spc_chart.html", view=view, plots=plots(view))


@bp.post("/signals/<int:signal_id>/acknowledge")
@requires(*QUALITY)
def acknowledge(signal_id: int) -> ResponseReturnValue:
    """A quality user acknowledges a signal with a comment; back to where it was shown."""
    back = request.form.get("back", "")
    target = back if back.startswith("/spc/") else url_for("spc.index")
    try:
        charts().acknowledge(
            actor=require_caller().username,
            signal_id=signal_id,
            comment=request.form.get("comment", ""),
        )
    except DomainError as refused:
        spc = charts()
        return _render(
            "spc_index.html",
            domain_status(refused),
            charts=spc.charts(),
            signals=spc.open_signals(),
            message=refused.message,
        )
    flash(f"SPC signal {signal_id} acknowledged.", DONE)
    return redirect(target, 303)
