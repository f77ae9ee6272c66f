"""acme-harness's shift calendar declares dated planned downtime: a plant shutdown on Christmas
Eve and a maintenance window on a date in summer time, placed in UTC by the site's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dsl
from dsl.calendars import downtime_windows

PLANT = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


def test_acme_harness_stops_for_christmas_eve_and_a_maintenance_window() -> None:
    plant = dsl.load(PLANT).plant
    assert plant is not None and plant.site.calendar is not None
    windows = downtime_windows(
        plant.site.calendar,
        plant.site.timezone,
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 30, tzinfo=dt.UTC),
    )
    assert [(w.start.isoformat(), w.end.isoformat(), w.reason) for w in windows] == [
        ("2026-12-23T23:00:00+00:00", "2026-12-24T23:00:00+00:00", "plant shutdown"),
        ("2027-03-31T04:00:00+00:00", "2027-03-31T06:00:00+00:00", "planned maintenance of line 1"),
    ]
