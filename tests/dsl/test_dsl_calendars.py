"""The site's shift ``calendar`` and a work centre's ``downtime`` reasons: loaded into the model,
mistakes reported with a fix, and shifts placed in UTC across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dsl.calendars import downtime_windows, shift_windows
from dsl.loader import LoadResult

CALENDAR = """
calendar:
  days: [mon, tue, wed, thu, fri, sat, sun]
  shifts:
    day: {start: "06:00", end: "18:00", breaks: ["12:00-12:30"]}
    night: {start: "18:00", end: "06:00", breaks: ["00:00-00:30"]}
"""


def _site(base_files: dict[str, str], extra: str) -> dict[str, str]:
    site = base_files["site.yaml"].replace(
        "  bench: {description: Assembly bench}",
        "  bench:\n    description: Assembly bench\n    downtime:\n      code_after: 2 min\n"
        "      planned: {breaks: [lunch]}\n      unplanned: {breakdown: [jam, motor]}",
    )
    return {"site.yaml": site + extra}


def test_the_calendar_and_reason_tree_are_loaded(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    result = load_plant(_site(base_files, CALENDAR))
    assert result.plant is not None, result.render()
    calendar = result.plant.site.calendar
    assert calendar is not None
    assert [(s.name, s.start, s.end) for s in calendar.shifts] == [
        ("day", dt.time(6), dt.time(18)),
        ("night", dt.time(18), dt.time(6)),
    ]
    assert calendar.workdays == frozenset(range(7))
    tree = result.plant.work_centers["bench"].downtime
    assert tree is not None
    assert tree.code_after_s == 120
    assert [r.path for r in tree.reasons] == [
        "planned/breaks/lunch",
        "unplanned/breakdown/jam",
        "unplanned/breakdown/motor",
    ]
    plain = load_plant()
    assert plain.plant is not None and plain.plant.site.calendar is None


def test_the_night_shifts_around_clock_changes_last_eleven_and_thirteen_hours(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    plant = load_plant(_site(base_files, CALENDAR)).plant
    assert plant is not None and plant.site.calendar is not None
    calendar = plant.site.calendar
    for day, hours in ((dt.datetime(2027, 3, 27, 12), 11), (dt.datetime(2027, 10, 30, 12), 13)):
        start = day.replace(tzinfo=dt.UTC)
        night = next(
            w for w in shift_windows(calendar, "Europe/Berlin", start, start + dt.timedelta(1))
            if w.shift == "night" and w.day == day.date()
        )  # fmt: skip
        assert (night.end - night.start) == dt.timedelta(hours=hours)
        assert night.breaks[0][1] - night.breaks[0][0] == dt.timedelta(minutes=30)
    spring = shift_windows(
        calendar, "Europe/Berlin",
        dt.datetime(2027, 3, 29, 0, tzinfo=dt.UTC), dt.datetime(2027, 3, 29, 5, tzinfo=dt.UTC),
    )  # fmt: skip
    assert [(w.shift, w.start.hour) for w in spring] == [("night", 16), ("day", 4)]


def test_calendar_mistakes_are_reported_with_a_fix(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    wrong = CALENDAR.replace('"06:00", end: "18:00"', '"06:10", end: "18:00"').replace(
        '"00:00-00:30"', '"17:00-17:30"'
    )
    result = load_plant(_site(base_files, wrong))
    assert [d.message for d in result.diagnostics] == [
        "'06:10' is not a time on the quarter-hour",
        "break 17:00-17:30 is not inside shift 'night' (18:00-06:00)",
    ]
    assert [d.hint for d in result.diagnostics] == [
        "write HH:MM with minutes 00, 15, 30 or 45, e.g. 06:00 or 22:30",
        "breaks are planned stops within their shift",
    ]
    days = load_plant(_site(base_files, CALENDAR.replace("sun]", "sunday]")))
    assert [d.message for d in days.diagnostics] == [
        "day 7 must be mon, tue, wed, thu, fri, sat or sun, found 'sunday'; did you mean 'sun'?"
    ]


BOTH = "give both start and end for a window, or neither for the whole day"
PLANNED = """  planned_downtime:
    - {date: 2026-12-24, reason: plant shutdown}
    - {date: 2027-03-28, start: "01:00", end: "04:00", reason: planned maintenance}
    - {date: 2027-10-31, reason: inventory count}
"""


def test_dated_planned_downtime_is_placed_in_utc_across_clock_changes(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    result = load_plant(_site(base_files, CALENDAR + PLANNED))
    assert result.plant is not None, result.render()
    calendar = result.plant.site.calendar
    assert calendar is not None
    assert [(p.day, p.start, p.end, p.reason) for p in calendar.planned_downtime] == [
        (dt.date(2026, 12, 24), None, None, "plant shutdown"),
        (dt.date(2027, 3, 28), dt.time(1), dt.time(4), "planned maintenance"),
        (dt.date(2027, 10, 31), None, None, "inventory count"),
    ]
    year = (dt.datetime(2026, 6, 1, tzinfo=dt.UTC), dt.datetime(2027, 12, 1, tzinfo=dt.UTC))
    windows = downtime_windows(calendar, "Europe/Berlin", *year)
    utc = dt.UTC
    assert [(w.start, w.end, w.reason) for w in windows] == [
        (dt.datetime(2026, 12, 23, 23, tzinfo=utc), dt.datetime(2026, 12, 24, 23, tzinfo=utc),
         "plant shutdown"),
        # 01:00 CET to 04:00 CEST: two hours, the clocks skip 02:00-03:00
        (dt.datetime(2027, 3, 28, 0, tzinfo=utc), dt.datetime(2027, 3, 28, 2, tzinfo=utc),
         "planned maintenance"),
        # the day the clocks go back lasts 25 hours
        (dt.datetime(2027, 10, 30, 22, tzinfo=utc), dt.datetime(2027, 10, 31, 23, tzinfo=utc),
         "inventory count"),
    ]  # fmt: skip
    clipped = downtime_windows(
        calendar, "Europe/Berlin",
        dt.datetime(2026, 12, 24, 6, tzinfo=utc), dt.datetime(2026, 12, 24, 12, tzinfo=utc),
    )  # fmt: skip
    assert [(w.start.hour, w.end.hour) for w in clipped] == [(6, 12)]


def test_planned_downtime_mistakes_are_reported_with_a_fix(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    wrong = """  planned_downtime:
    - {date: 2026-12-32, reason: plant shutdown}
    - {date: 2027-01-04, start: "08:00", reason: half a window}
    - {date: 2027-01-05, end: "08:00", reason: the other half}
    - {date: 2027-01-06, start: "10:00", end: "08:00", reason: backwards}
    - {date: 2027-01-07, start: "10:05", end: "11:00", reason: off the grid}
    - {date: 2027-01-08, start: "10:00", end: "11:00"}
"""
    result = load_plant(_site(base_files, CALENDAR + wrong))
    assert [(d.message, d.hint) for d in result.diagnostics] == [
        ("'date' must be a date written YYYY-MM-DD, like 2027-06-30, found '2026-12-32'",
         "this date does not exist in the calendar"),
        ("planned downtime on 2027-01-04 has a start but no end", BOTH),
        ("planned downtime on 2027-01-05 has an end but no start", BOTH),
        ("planned downtime on 2027-01-06 ends at 08:00, not after its start 10:00",
         "a window lies within one day; split one past midnight into two dates"),
        ("'10:05' is not a time on the quarter-hour",
         "write HH:MM with minutes 00, 15, 30 or 45, e.g. 06:00 or 22:30"),
        ("planned downtime 6 is missing the required key 'reason'",
         "reason: Why the site stands still, e.g. plant shutdown."),
    ]  # fmt: skip
    backwards = result.render().splitlines()
    at = backwards.index(
        '        - {date: 2027-01-06, start: "10:00", end: "08:00", reason: backwards}'
    )
    assert backwards[at - 1].endswith(
        ":47: error: planned downtime on 2027-01-06 ends at 08:00, not after its start 10:00"
    )
    assert backwards[at + 1] == " " * 50 + "^^^^^^^"
