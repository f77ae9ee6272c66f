"""The tag historian: deadband compression (exact stored points from a known series, quality
changes always stored), the recorder writing batches through an injected clock, downsampled
buckets, retention by whole days (partitions on PostgreSQL), trends and exports."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from dsl.model import HistoryPolicy, Plant
from engine.commands import historian as writing
from engine.errors import Invalid, NotFound
from engine.facade.audit import AuditTrail
from engine.facade.historian import Historian, Recorder
from engine.floor.historian import (
    Bucket,
    Compressor,
    HistorySpec,
    Sample,
    Schedule,
    downsample,
    history_specs,
)
from engine.floor.tagsource import StaticTagSource, TagReading
from engine.infra.db import Database
from engine.records.historian import BAD, GOOD, STALE, HistoryBucket, HistoryPoint

DAY = 86_400_000
T0 = 20_000 * DAY  # 2024-10-04T00:00Z: a UTC midnight
PRESSURE = HistorySpec("press1.pressure", "bar", 1000, 0.5, 60_000)


def _stored(compressor: Compressor, series: list[Sample]) -> list[Sample]:
    return [s for s in series if compressor.offer(s)]


def test_deadband_compression_stores_exactly_the_points_that_move_out_of_the_band() -> None:
    values = [70.0, 70.2, 70.4, 70.6, 70.3, 69.9, 70.0, 70.7, 70.7, 70.1, 70.1]
    series = [Sample(T0 + i * 1000, v, GOOD) for i, v in enumerate(values)]
    stored = _stored(Compressor(0.5, 60_000), series)
    # 70.0 first; 70.6 is 0.6 from 70.0; 69.9 is 0.7 from 70.6; 70.7 is 0.8 from 69.9;
    # 70.1 is 0.6 from 70.7; a move of exactly 0.5 is not stored
    assert [(s.at_ms - T0, s.value) for s in stored] == [
        (0, 70.0),
        (3000, 70.6),
        (5000, 69.9),
        (7000, 70.7),
        (9000, 70.1),
    ]
    exact = _stored(Compressor(0.5, 60_000), [Sample(T0, 1.0, GOOD), Sample(T0 + 1, 1.5, GOOD)])
    assert len(exact) == 1


def test_quality_changes_heartbeats_and_new_days_are_always_stored() -> None:
    series = [
        Sample(T0, 70.0, GOOD),
        Sample(T0 + 1000, None, BAD, "press1: connection refused"),
        Sample(T0 + 2000, None, BAD, "press1: connection refused"),
        Sample(T0 + 3000, None, STALE, "press1.pressure: no update for 6.0 s"),
        Sample(T0 + 4000, 70.0, GOOD),
        Sample(T0 + 5000, 70.1, GOOD),
        Sample(T0 + 64_000, 70.1, GOOD),  # a heartbeat (60 s)
        Sample(T0 + 65_000, 70.1, GOOD),
        Sample(T0 + DAY + 10, 70.1, GOOD),  # the next UTC day opens with its value
        Sample(T0 + DAY + 5, 90.0, GOOD),  # the clock stepped back: dropped
    ]
    stored = _stored(Compressor(0.5, 60_000), series)
    assert [(s.at_ms - T0, s.quality, s.reason) for s in stored] == [
        (0, GOOD, None),
        (1000, BAD, "press1: connection refused"),
        (3000, STALE, "press1.pressure: no update for 6.0 s"),
        (4000, GOOD, None),
        (64_000, GOOD, None),
        (DAY + 10, GOOD, None),
    ]


def test_each_tag_is_sampled_on_multiples_of_its_period() -> None:
    fast = HistorySpec("a.x", "", 1000, 0.0, 60_000)
    slow = HistorySpec("a.y", "", 5000, 0.0, 60_000)
    schedule = Schedule([fast, slow], T0 + 300)
    assert schedule.due(T0 + 300) == ["a.x", "a.y"]
    assert schedule.next_ms() == T0 + 1000
    assert schedule.due(T0 + 1000) == ["a.x"]
    assert schedule.due(T0 + 4999) == ["a.x"]
    assert schedule.due(T0 + 5000) == ["a.x", "a.y"]


def test_downsampled_buckets_are_exact_and_time_weighted() -> None:
    points = [
        Sample(T0, 10.0, GOOD),
        Sample(T0 + 30_000, 20.0, GOOD),
        Sample(T0 + 90_000, None, BAD, "down"),  # a gap from 90 s to 150 s
        Sample(T0 + 150_000, 40.0, GOOD),
    ]
    buckets = downsample(points, 60_000, 61_000, T0 + 200_000)
    assert buckets == [
        Bucket(T0, 60_000, 10.0, 20.0, 15.0, 20.0, 2),
        Bucket(T0 + 60_000, 60_000, 20.0, 20.0, 20.0, 20.0, 0),
        Bucket(T0 + 120_000, 60_000, 40.0, 40.0, 40.0, 40.0, 1),
        Bucket(T0 + 180_000, 60_000, 40.0, 40.0, 40.0, 40.0, 0),
    ]
    # a value holds at most hold_ms: the historian was not running after that
    assert downsample([Sample(T0, 1.0, GOOD)], 60_000, 61_000, T0 + 10 * 60_000) == [
        Bucket(T0, 60_000, 1.0, 1.0, 1.0, 1.0, 1),
        Bucket(T0 + 60_000, 60_000, 1.0, 1.0, 1.0, 1.0, 0),
    ]


def test_the_demo_plant_records_the_press_pressure(plant: Plant) -> None:
    specs = {spec.key: spec for spec in history_specs(plant)}
    assert specs["press1.pressure"] == HistorySpec("press1.pressure", "bar", 1000, 0.5, 600_000)
    assert plant.site.history is not None


class Clock:
    """An injected clock in milliseconds."""

    def __init__(self, at_ms: int) -> None:
        self.at_ms = at_ms

    def __call__(self) -> int:
        return self.at_ms

    def instant(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.at_ms / 1000, dt.UTC)


def _recorder(db: Database, clock: Clock, source: StaticTagSource) -> Recorder:
    return Recorder(
        db,
        source,
        clock_ms=clock,
        specs=(PRESSURE,),
        policy=HistoryPolicy(10 * 86400.0, 2 * 86400.0, 60.0),
    )


def _points(db: Database) -> list[tuple[int, float | None, int]]:
    with db.session() as session:
        rows = session.execute(
            select(HistoryPoint.at_ms, HistoryPoint.value, HistoryPoint.quality).order_by(
                HistoryPoint.at_ms
            )
        )
        return [(when - T0, value, quality) for when, value, quality in rows]


def test_the_recorder_stores_what_the_deadband_keeps_and_continues_after_a_restart(
    db: Database,
) -> None:
    clock = Clock(T0)
    source = StaticTagSource(clock=clock.instant)
    recorder = _recorder(db, clock, source)
    for value in (70.0, 70.3, 71.0, 71.2):
        source.set("press1.pressure", value)
        recorder.sample()
        clock.at_ms += 1000
    source.set_bad("press1.pressure", "press1: connection refused")
    recorder.sample()
    assert recorder.flush().written == 3
    assert _points(db) == [(0, 70.0, GOOD), (2000, 71.0, GOOD), (4000, None, BAD)]
    clock.at_ms += 1000
    source.set("press1.pressure", 71.0)
    again = _recorder(db, clock, source)  # a restarted process continues from the last point
    again.sample()
    clock.at_ms += 1000
    source.set("press1.pressure", 71.2)
    again.sample()
    again.flush()
    assert _points(db)[3:] == [(5000, 71.0, GOOD)]
    assert AuditTrail(db).verify().ok


def test_the_run_loop_samples_flushes_and_stops_with_a_last_flush(db: Database) -> None:
    clock = Clock(T0)
    source = StaticTagSource({"press1.pressure": 70.0}, clock=clock.instant)
    recorder = _recorder(db, clock, source)
    stop = threading.Event()
    flushed: list[int] = []

    def sleep(seconds: float) -> None:
        clock.at_ms += max(1, round(seconds * 1000))
        source.set("press1.pressure", 70.0 + (clock.at_ms - T0) / 1000)
        if clock.at_ms - T0 > 5000:
            stop.set()

    recorder.run(stop, sleep=sleep, on_flush=lambda result: flushed.append(result.written))
    assert [when for when, _v, _q in _points(db)] == [0, 1000, 2000, 3000, 4000, 5000]
    assert sum(flushed) == 6


def _fill_days(db: Database, days: int) -> None:
    """A point every 10 minutes of each day (value: the day number), through the recorder's own
    writing path so that PostgreSQL creates the partitions."""
    with db.transaction() as session:
        ids = writing.tag_ids(session, (PRESSURE,))
        writing.create_partitions(session, (writing.day_of(T0 + d * DAY) for d in range(days)))
        writing.store(
            session,
            [
                (ids["press1.pressure"], Sample(T0 + d * DAY + m * 600_000, float(d), GOOD))
                for d in range(days)
                for m in range(144)
            ],
        )


def test_retention_downsamples_then_drops_whole_days(db: Database) -> None:
    _fill_days(db, 4)
    clock = Clock(T0 + 4 * DAY + 3_600_000)  # day 4, 01:00
    recorder = Recorder(
        db,
        StaticTagSource(),
        clock_ms=clock,
        specs=(PRESSURE,),
        policy=HistoryPolicy(3 * 86400.0, 2 * 86400.0, 3600.0),
    )
    done = recorder.maintain()
    # days 0 and 1 ended more than 2 d ago: downsampled into hourly buckets, then dropped;
    # buckets older than 3 d (before day 1, 01:00) are deleted
    assert done.points_deleted == 288
    assert done.buckets == 48
    assert done.buckets_deleted == 25
    if not db.is_sqlite:
        assert done.partitions_dropped == ("history_points_d20241004", "history_points_d20241005")
        with db.session() as session:
            assert set(writing.partitions(session)) == {
                "history_points_d20241006",
                "history_points_d20241007",
                "history_points_d20241008",
                "history_points_d20241009",
            }
    assert {when // DAY for when, _v, _q in _points(db)} == {2, 3}
    with db.session() as session:
        buckets = session.execute(
            select(HistoryBucket.at_ms, HistoryBucket.low, HistoryBucket.count).order_by(
                HistoryBucket.at_ms
            )
        ).all()
    assert len(buckets) == 23
    assert buckets[0] == (T0 + DAY + 3_600_000, 1.0, 6)
    assert buckets[-1] == (T0 + DAY + 23 * 3_600_000, 1.0, 6)
    trend = Historian(db).trend(
        "press1.pressure",
        dt.datetime.fromtimestamp((T0 + DAY) / 1000, dt.UTC),
        dt.datetime.fromtimestamp((T0 + 3 * DAY) / 1000, dt.UTC),
    )
    assert len(trend.buckets) == 23
    assert trend.buckets[0].mean == 1.0
    assert [p.at.day for p in trend.points][:1] == [6]


def at(ms: int) -> dt.datetime:
    """``ms`` after T0."""
    return dt.datetime.fromtimestamp((T0 + ms) / 1000, dt.UTC)


def test_a_trend_holds_the_value_before_its_start_and_shows_gaps(db: Database) -> None:
    with db.transaction() as session:
        ids = writing.tag_ids(session, (PRESSURE,))
        writing.create_partitions(session, [writing.day_of(T0)])
        tag = ids["press1.pressure"]
        writing.store(
            session,
            [
                (tag, Sample(T0, 70.0, GOOD)),
                (tag, Sample(T0 + 50_000, None, BAD, "press1: connection refused")),
                (tag, Sample(T0 + 80_000, 72.0, GOOD)),
            ],
        )
    historian = Historian(db)
    trend = historian.trend("press1.pressure", at(10_000), at(120_000))
    assert [(p.at, p.value, p.quality, p.reason) for p in trend.points] == [
        (at(0), 70.0, "good", ""),
        (at(50_000), None, "bad", "press1: connection refused"),
        (at(80_000), 72.0, "good", ""),
    ]
    assert trend.unit == "bar"
    exported = list(historian.export("press1.pressure", at(0), at(60_000)))
    assert [(p.value, p.quality) for p in exported] == [(70.0, "good"), (None, "bad")]
    with pytest.raises(NotFound) as missing:
        historian.export("press1.nothing", at(0), at(60_000))
    assert missing.value.message == "The historian has no values of tag 'press1.nothing'."
    with pytest.raises(Invalid) as backwards:
        historian.trend("press1.pressure", at(60_000), at(0))
    assert backwards.value.message == "The period's start must be before its end."
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(HistoryPoint)) == 3


def test_a_bad_reading_without_a_source_value_is_stored_bad(db: Database) -> None:
    clock = Clock(T0)
    source = StaticTagSource(clock=clock.instant)
    source.set_reading(
        "press1.pressure",
        TagReading(float("nan"), "good", None, clock.instant()),
    )
    recorder = _recorder(db, clock, source)
    recorder.sample()
    recorder.flush()
    with db.session() as session:
        reason = session.scalar(select(HistoryPoint.reason))
    assert reason == "not a number: nan"


def test_a_long_trend_is_thinned_in_the_database_and_keeps_every_quality_change(
    db: Database,
) -> None:
    with db.transaction() as session:
        tag = writing.tag_ids(session, (PRESSURE,))["press1.pressure"]
        writing.create_partitions(session, [writing.day_of(T0)])
        rows = [(tag, Sample(T0 + i * 1000, float(i % 7), GOOD)) for i in range(10_000)]
        rows[5000] = (tag, Sample(T0 + 5_000_000, None, BAD, "down"))
        writing.store(session, rows)
    trend = Historian(db).trend("press1.pressure", at(0), at(10_000_000))
    assert trend.thinned
    assert len(trend.points) <= 2 * 1000 + 20
    assert [p.at for p in trend.points] == sorted(p.at for p in trend.points)
    bad = [p for p in trend.points if p.quality == "bad"]
    assert [(p.at, p.reason) for p in bad] == [(at(5_000_000), "down")]
    after = trend.points[trend.points.index(bad[0]) + 1]
    assert (after.at, after.value) == (at(5_001_000), float(5001 % 7))
    # outside the column kept whole (5000 s to 5010 s), each column shows its lowest and highest
    whole = {at(ms) for ms in range(5_000_000, 5_010_000, 1000)}
    assert {p.value for p in trend.points if p.at not in whole} == {0.0, 6.0}
    assert {p.at for p in trend.points} >= whole
