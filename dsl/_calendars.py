"""Reading ``calendar:`` (the site's shifts) and a work centre's ``downtime:`` reason tree.

The validator has checked the shapes (:data:`dsl.schema.CALENDAR`, :data:`dsl.schema.DOWNTIME`)
and the dates; here times are parsed and checked: HH:MM on the quarter-hour, breaks inside their
shift, a dated planned stop with both a start and an end (or neither), the end after the start.
"""

from __future__ import annotations

import datetime as dt
import re

from dsl import _reader as r
from dsl.calendars import (
    DEFAULT_CODE_AFTER_S,
    GRID_MINUTES,
    WEEKDAYS,
    DowntimeReason,
    PlannedDowntime,
    Planning,
    ReasonTree,
    Shift,
    ShiftCalendar,
)
from dsl.diagnostics import Span
from dsl.yamlsource import YMap, YScalar, YSeq

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_DAYS = ("mon", "tue", "wed", "thu", "fri")


def calendar(report: r.Reporter, key: YScalar, value: YMap) -> ShiftCalendar | None:
    """The site's shift calendar, or None when a time in it is wrong (reported)."""
    found = [_shift(report, name.text, r.as_map(node)) for name, node in r.entries(value, "shifts")]
    shifts = [shift for shift in found if shift is not None]
    if len(shifts) < len(found):
        return None
    said = [d.text for d in r.items(value, "days") if isinstance(d, YScalar)]
    days = frozenset(WEEKDAYS.index(d) for d in (said or DEFAULT_DAYS) if d in WEEKDAYS)
    listed = [_planned(report, r.as_map(node)) for node in r.items(value, "planned_downtime")]
    planned = tuple(stop for stop in listed if stop is not None)
    if len(planned) < len(listed):
        return None
    return ShiftCalendar(tuple(shifts), days, key.span, planned)


def _planned(report: r.Reporter, node: YMap) -> PlannedDowntime | None:
    """One dated planned stop, or None when its times are wrong (reported)."""
    day = r.date(node, "date")
    start_node, end_node = r.scalar(node, "start"), r.scalar(node, "end")
    if day is None:
        return None
    reason = r.text(node, "reason")
    if (start_node is None) != (end_node is None):
        given, has, lacks = (
            (start_node, "a start", "end") if end_node is None else (end_node, "an end", "start")
        )
        assert given is not None  # exactly one of the two is there
        report.error(
            given.span,
            f"planned downtime on {day.isoformat()} has {has} but no {lacks}",
            "give both start and end for a window, or neither for the whole day",
        )
        return None
    start, end = _time(report, start_node), _time(report, end_node)
    if start_node is None:
        return PlannedDowntime(day, None, None, reason)
    if start is None or end is None:
        return None
    if end <= start:
        assert end_node is not None
        report.error(
            end_node.span,
            f"planned downtime on {day.isoformat()} ends at {end:%H:%M}, not after its start "
            f"{start:%H:%M}",
            "a window lies within one day; split one past midnight into two dates",
        )
        return None
    return PlannedDowntime(day, start, end, reason)


def reason_tree(key: YScalar, value: YMap) -> ReasonTree:
    """A work centre's downtime reasons."""
    reasons: list[DowntimeReason] = []
    planning: tuple[Planning, ...] = ("planned", "unplanned")
    for kind in planning:
        for category, node in r.entries(value, kind):
            listed = node.items if isinstance(node, YSeq) else ()
            reasons.extend(
                DowntimeReason(kind, category.text, item.text.strip())
                for item in listed
                if isinstance(item, YScalar) and not item.is_empty
            )
    code_after = r.si(value, "code_after", DEFAULT_CODE_AFTER_S)
    return ReasonTree(code_after, tuple(reasons), key.span)


def _shift(report: r.Reporter, name: str, node: YMap) -> Shift | None:
    start = _time(report, r.scalar(node, "start"))
    end = _time(report, r.scalar(node, "end"))
    if start is None or end is None:
        return None
    breaks: list[tuple[dt.time, dt.time]] = []
    for item in r.items(node, "breaks"):
        if not isinstance(item, YScalar):
            continue
        first, _, second = item.text.partition("-")
        pair = _clock(report, item.span, first.strip()), _clock(report, item.span, second.strip())
        if pair[0] is None or pair[1] is None:
            return None
        if not _inside(start, end, pair[0], pair[1]):
            report.error(
                item.span,
                f"break {item.text.strip()} is not inside shift '{name}' "
                f"({start:%H:%M}-{end:%H:%M})",
                "breaks are planned stops within their shift",
            )
            return None
        breaks.append((pair[0], pair[1]))
    return Shift(name, start, end, tuple(breaks))


def _time(report: r.Reporter, node: YScalar | None) -> dt.time | None:
    return None if node is None else _clock(report, node.span, node.text.strip())


def _clock(report: r.Reporter, span: Span, text: str) -> dt.time | None:
    match = _CLOCK.match(text)
    if match is None or int(match.group(2)) % GRID_MINUTES:
        report.error(
            span,
            f"'{text}' is not a time on the quarter-hour",
            "write HH:MM with minutes 00, 15, 30 or 45, e.g. 06:00 or 22:30",
        )
        return None
    return dt.time(int(match.group(1)), int(match.group(2)))


def _minutes(at: dt.time, start: dt.time) -> int:
    """Minutes from the shift's ``start`` to ``at`` (wrapping past midnight)."""
    return (at.hour * 60 + at.minute - start.hour * 60 - start.minute) % (24 * 60)


def _inside(start: dt.time, end: dt.time, first: dt.time, second: dt.time) -> bool:
    length = _minutes(end, start) or 24 * 60
    return 0 <= _minutes(first, start) < _minutes(second, start) <= length
