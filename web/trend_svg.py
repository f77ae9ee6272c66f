"""A recorded tag's trend drawn by the server as SVG (no script, no CDN): the stored values as a
step line (a value holds until the next one, at most the tag's heartbeat), shaded gaps where the
quality was not good (with the reason) or nothing was recorded, and a min-max band with the mean
where only downsampled buckets are left. Geometry only; ``_trend.html`` draws it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from engine.queries.trends import Trend

WIDTH, HEIGHT = 960, 220
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 12, 28
X_TICKS, Y_TICKS = 6, 4
NO_VALUE = "no value recorded"


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch without a good value: ``x`` and ``width`` in pixels, its quality (bad, stale,
    or none when nothing was recorded) and why."""

    x: float
    width: float
    quality: str
    reason: str


@dataclass(frozen=True, slots=True)
class TrendPlot:
    """One trend in pixels, ready for ``_trend.html``."""

    key: str
    title: str
    width: int
    height: int
    lines: tuple[str, ...]
    """Polylines (SVG ``points``) of the step line, one per stretch of good values."""
    gaps: tuple[Gap, ...]
    band: str
    """Polygon of the buckets' min-max band ("" without buckets)."""
    means: str
    """Polyline of the buckets' means ("" without buckets)."""
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    points: int
    thinned: bool

    @property
    def empty(self) -> bool:
        return not self.lines and not self.band


class _Scale:
    def __init__(self, trend: Trend, low: float, high: float) -> None:
        self.start = trend.start.timestamp()
        self.span = max(trend.end.timestamp() - self.start, 1e-3)
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.08
        self.low, self.high = low - pad, high + pad

    def x(self, moment: dt.datetime) -> float:
        fraction = (moment.timestamp() - self.start) / self.span
        return round(LEFT + min(max(fraction, 0.0), 1.0) * (WIDTH - LEFT - RIGHT), 1)

    def y(self, value: float) -> float:
        fraction = (value - self.low) / (self.high - self.low)
        return round(TOP + (1.0 - fraction) * (HEIGHT - TOP - BOTTOM), 1)


def _label(value: float) -> str:
    return f"{value:.4g}"


def _time_label(moment: dt.datetime, zone: dt.tzinfo, long_period: bool) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%m-%d %H:%M" if long_period else "%H:%M")


def trend_plot(trend: Trend, zone: zoneinfo.ZoneInfo | dt.tzinfo) -> TrendPlot:
    """The trend's geometry, times labelled in ``zone`` (the site's)."""
    good = [p.value for p in trend.points if p.value is not None]
    ranges = [*good, *(b.low for b in trend.buckets), *(b.high for b in trend.buckets)]
    scale = _Scale(trend, min(ranges, default=0.0), max(ranges, default=1.0))
    hold = dt.timedelta(seconds=trend.hold_s)
    lines: list[str] = []
    gaps: list[Gap] = []
    current: list[str] = []
    covered_until = trend.start
    for index, point in enumerate(trend.points):
        following = trend.points[index + 1].at if index + 1 < len(trend.points) else trend.end
        begin, until = max(point.at, trend.start), min(following, point.at + hold, trend.end)
        if until <= begin:
            continue
        if begin > covered_until:
            gaps.append(_gap(scale, covered_until, begin, "none", NO_VALUE))
            current = _closed(current, lines)
        if point.value is None:
            gaps.append(_gap(scale, begin, until, point.quality, point.reason))
            current = _closed(current, lines)
        else:
            y = scale.y(point.value)
            current += [f"{scale.x(begin)},{y}", f"{scale.x(until)},{y}"]
        covered_until = until
    _closed(current, lines)
    bucketed_until = trend.buckets[-1].at if trend.buckets else trend.start
    if covered_until < trend.end and not (trend.buckets and not trend.points):
        gaps.append(_gap(scale, max(covered_until, bucketed_until), trend.end, "none", NO_VALUE))
    band, means = _buckets(trend, scale)
    long_period = trend.end - trend.start > dt.timedelta(hours=24)
    step = (trend.end - trend.start) / X_TICKS
    x_ticks = tuple(
        (scale.x(trend.start + step * n), _time_label(trend.start + step * n, zone, long_period))
        for n in range(X_TICKS + 1)
    )
    y_ticks = tuple(
        (scale.y(value), _label(value))
        for value in (
            scale.low + (scale.high - scale.low) * n / Y_TICKS for n in range(Y_TICKS + 1)
        )
    )
    unit = f" ({trend.unit})" if trend.unit else ""
    return TrendPlot(
        key=trend.key,
        title=f"{trend.key}{unit}",
        width=WIDTH,
        height=HEIGHT,
        lines=tuple(lines),
        gaps=tuple(g for g in gaps if g.width > 0),
        band=band,
        means=means,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        points=len(trend.points),
        thinned=trend.thinned,
    )


def _closed(current: list[str], lines: list[str]) -> list[str]:
    """End the polyline being drawn (kept when it has points); a new one starts empty."""
    if current:
        lines.append(" ".join(current))
    return []


def _gap(scale: _Scale, begin: dt.datetime, until: dt.datetime, quality: str, reason: str) -> Gap:
    x = scale.x(begin)
    return Gap(x, round(scale.x(until) - x, 1), quality, reason or quality)


def _buckets(trend: Trend, scale: _Scale) -> tuple[str, str]:
    """The min-max band's polygon and the means' polyline."""
    if not trend.buckets:
        return "", ""
    upper: list[str] = []
    lower: list[str] = []
    means: list[str] = []
    for bucket in trend.buckets:
        x0 = scale.x(bucket.at)
        x1 = scale.x(bucket.at + dt.timedelta(seconds=bucket.width_s))
        upper += [f"{x0},{scale.y(bucket.high)}", f"{x1},{scale.y(bucket.high)}"]
        lower += [f"{x0},{scale.y(bucket.low)}", f"{x1},{scale.y(bucket.low)}"]
        means += [f"{x0},{scale.y(bucket.mean)}", f"{x1},{scale.y(bucket.mean)}"]
    return " ".join([*upper, *reversed(lower)]), " ".join(means)
