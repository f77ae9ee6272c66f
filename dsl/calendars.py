"""Shift calendars and downtime reason trees, as the plant config declares them.

A site's ``calendar`` names its shifts (local start and end times, breaks inside them) and the
weekdays it works; :func:`shift_windows` turns them into UTC intervals with the site's time zone,
so a shift on the night clocks change lasts an hour more or less. Its ``planned_downtime`` names
dated stops (a plant shutdown on 2026-12-24, a maintenance window 08:00-12:00 on a date), local
too: :func:`downtime_windows` places them in UTC, a whole day lasting 23 or 25 hours when the
clocks change that night. Times lie on a quarter-hour grid,
the grid equipment time is kept on for OEE. A work centre's ``downtime`` reason tree sorts stops
into planned and unplanned, then categories, then reasons; a stop longer than ``code_after`` needs
one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from dsl.diagnostics import Span

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRID_MINUTES = 15
"""Shift and break times are whole quarter-hours (the OEE buckets' size)."""

Planning = Literal["planned", "unplanned"]
DEFAULT_CODE_AFTER_S = 300.0
"""A stop longer than this needs a reason when the reason tree does not say otherwise."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift from ``start`` to ``end`` local time (past midnight when ``end <= start``) with
    its ``breaks`` (local start and end times inside it)."""

    name: str
    start: dt.time
    end: dt.time
    breaks: tuple[tuple[dt.time, dt.time], ...]


@dataclass(frozen=True, slots=True)
class PlannedDowntime:
    """A dated planned stop: local ``day``, from ``start`` to ``end`` (both None: all day)."""

    day: dt.date
    start: dt.time | None
    end: dt.time | None
    reason: str


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """The site's shifts, on the weekdays it works (0 = Monday), and its dated planned stops."""

    shifts: tuple[Shift, ...]
    workdays: frozenset[int]
    span: Span
    planned_downtime: tuple[PlannedDowntime, ...] = ()


@dataclass(frozen=True, slots=True)
class DowntimeWindow:
    """A dated planned stop in UTC, clipped to the period asked for."""

    start: dt.datetime
    end: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One shift on one local day, in UTC: ``start``–``end`` with its breaks."""

    shift: str
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...]

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()} {self.shift}"


@dataclass(frozen=True, slots=True)
class DowntimeReason:
    """One leaf of a reason tree: ``planned/category/reason``."""

    planning: Planning
    category: str
    reason: str

    @property
    def path(self) -> str:
        return f"{self.planning}/{self.category}/{self.reason}"


@dataclass(frozen=True, slots=True)
class ReasonTree:
    """A work centre's downtime reasons; stops longer than ``code_after_s`` need one."""

    code_after_s: float
    reasons: tuple[DowntimeReason, ...]
    span: Span

    def find(self, path: str) -> DowntimeReason | None:
        return next((r for r in self.reasons if r.path == path), None)


def shift_windows(
    calendar: ShiftCalendar, timezone: str, start: dt.datetime, end: dt.datetime
) -> list[ShiftWindow]:
    """Every shift that overlaps ``start``–``end`` (UTC), whole, in time order."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - dt.timedelta(days=1)  # a night shift from before
    last = end.astimezone(zone).date()
    windows = [
        window
        for day in _days(first, last)
        if day.weekday() in calendar.workdays
        for window in (_window(shift, day, zone) for shift in calendar.shifts)
        if window.start < end and window.end > start
    ]
    return sorted(windows, key=lambda w: w.start)


def downtime_windows(
    calendar: ShiftCalendar, timezone: str, start: dt.datetime, end: dt.datetime
) -> list[DowntimeWindow]:
    """The dated planned downtime overlapping ``start``–``end`` (UTC), clipped to it, in time
    order. A whole day runs from local midnight to local midnight."""
    zone = ZoneInfo(timezone)
    windows = []
    for stop in calendar.planned_downtime:
        first = dt.datetime.combine(stop.day, stop.start or dt.time(), tzinfo=zone)
        last = (
            dt.datetime.combine(stop.day, stop.end, tzinfo=zone)
            if stop.end is not None
            else dt.datetime.combine(stop.day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        )
        low, high = max(first.astimezone(dt.UTC), start), min(last.astimezone(dt.UTC), end)
        if low < high:
            windows.append(DowntimeWindow(low, high, stop.reason))
    return sorted(windows, key=lambda w: w.start)


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _utc(
    day: dt.date, at: dt.time, zone: ZoneInfo, shift: Shift, *, end: bool = False
) -> dt.datetime:
    """``at`` local in the shift that starts on ``day`` (the next day when before the shift's
    start, or at it for an end), in UTC."""
    on = day + dt.timedelta(days=1) if at < shift.start or (end and at == shift.start) else day
    return dt.datetime.combine(on, at, tzinfo=zone).astimezone(dt.UTC)


def _window(shift: Shift, day: dt.date, zone: ZoneInfo) -> ShiftWindow:
    breaks = tuple(
        (_utc(day, a, zone, shift), _utc(day, b, zone, shift, end=True)) for a, b in shift.breaks
    )
    return ShiftWindow(
        shift.name,
        day,
        _utc(day, shift.start, zone, shift),
        _utc(day, shift.end, zone, shift, end=True),
        breaks,
    )
