"""ISO 22400-2 KPIs of crimp-press-1 on acme-harness from a known timeline, to the second.

The calendar: early 06:00-14:00 (breaks 09:30-09:45, 12:00-12:30), late 14:00-22:00 (break
18:00-18:30), Monday to Friday, Europe/Berlin: 26,100 s + 27,000 s = 53,100 s of shift time a day.
Friday 26 March 2027 is CET (UTC+1); clocks go forward on Sunday 28 March, so Monday 29 is CEST
(UTC+2) and its early shift starts at 04:00 UTC, not 05:00.

Friday (local): running from 05:00; down 08:00-08:30 (coded press fault); running; down
13:30-14:30 across the shift change (coded planned maintenance); running; idle 20:00-20:10
(uncoded); running until 23:00. Running in shift time: 22,500 s early, 24,600 s late.
Four crimps on the press: three good first time, one reworked and then good.
"""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from engine_exec_support import CRIMP_DATA, GOOD_TAGS, Line, line  # noqa: F401

from engine.commands.bom import ConsumptionInput
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.audit import AuditTrail
from engine.facade.performance import Performance, StopPart
from engine.floor.kpis import Span
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.queries.oee import Loss, OeeReport

BERLIN = ZoneInfo("Europe/Berlin")
PRESS = "crimp-press-1"
FAULT = "unplanned/breakdown/press fault"
MAINTENANCE = "planned/maintenance/preventive maintenance"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Berlin wall-clock time in March 2027, in UTC."""
    return dt.datetime(2027, 3, day, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


FRIDAY = (local(26, 0), local(27, 0))
AFTER = local(30, 12)  # "now" for every report: the timeline is over


class Clock:
    """The engine's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = AFTER

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def perf(line: Line, clock: Clock) -> Performance:
    tags = StaticTagSource(GOOD_TAGS, clock=clock)
    return Performance(line.engine.db, tags, RecordingSetpointWriter(), clock=clock)


def _states(perf: Performance, actor: str, timeline: list[tuple[dt.datetime, str]]) -> None:
    for at, state in timeline:
        perf.record_equipment_state(actor=actor, name=PRESS, state=state, at=at, source="manual")


def _friday(perf: Performance, line: Line, clock: Clock) -> None:
    """Friday's states, codings and crimps (see the module docstring)."""
    _states(perf, line.supervisor, [
        (local(26, 5), "running"), (local(26, 8), "down"), (local(26, 8, 30), "running"),
        (local(26, 13, 30), "down"), (local(26, 14, 30), "running"), (local(26, 20), "idle"),
        (local(26, 20, 10), "running"), (local(26, 23), "idle"),
    ])  # fmt: skip
    floor = replace(line, engine=perf)
    units = []
    for hour in (10, 11, 15):
        clock.now = local(26, hour)
        (unit,) = floor.release()
        floor.cut(unit)
        units.append(unit)
    for unit, hour, height in ((units[0], 10, 1.55), (units[1], 11, 1.30), (units[1], 16, 1.55),
                               (units[2], 15, 1.55)):  # fmt: skip
        clock.now = local(26, hour, 5)
        floor.crimp(unit, crimp_height=height)
    clock.now = AFTER
    perf.code_stop(actor=line.operator, equipment=PRESS,
                   parts=[StopPart(local(26, 8), local(26, 8, 30), FAULT)])  # fmt: skip
    perf.code_stop(actor=line.supervisor, equipment=PRESS,
                   parts=[StopPart(local(26, 13, 30), local(26, 14, 30), MAINTENANCE)])  # fmt: skip


def test_a_known_day_gives_every_kpi_to_the_second_and_the_unit(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    report = perf.oee(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
    times = report.times
    assert (times.planned_busy_s, times.planned_downtime_s) == (49_500, 3_600)
    assert (times.production_s, times.setup_s, times.delay_s) == (47_100, 0, 2_400)
    quantities = report.quantities
    assert (quantities.produced, quantities.good, quantities.scrap, quantities.rework) == (
        4,
        3,
        0,
        1,
    )
    assert (quantities.first_runs, quantities.first_pass_good, quantities.ideal_s) == (3, 2, 100)
    kpis = report.kpis
    assert kpis.availability == pytest.approx(47_100 / 49_500)
    assert kpis.effectiveness == pytest.approx(100 / 47_100)
    assert kpis.quality_ratio == 0.75
    assert kpis.oee_index == pytest.approx(47_100 / 49_500 * 100 / 47_100 * 0.75)
    assert kpis.first_pass_yield == pytest.approx(2 / 3)
    assert (kpis.scrap_ratio, kpis.rework_ratio) == (0, 0.25)
    assert kpis.throughput_per_h == pytest.approx(4 * 3600 / 49_500)
    assert kpis.actual_unit_processing_s == 47_100
    assert report.losses == (Loss(FAULT, 1_800), Loss("uncoded", 600))
    assert AuditTrail(line.engine.db).verify().ok


def test_each_shift_has_its_own_kpis_and_the_planned_stop_splits_across_the_change(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    early, late = perf.oee_per_shift(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
    assert (early.shift, early.day, late.shift) == ("early", dt.date(2027, 3, 26), "late")
    assert (early.report.start, early.report.end) == (local(26, 6), local(26, 14))
    assert _busy(early.report) == (26_100 - 1_800, 1_800, 22_500, 1_800)
    assert _busy(late.report) == (27_000 - 1_800, 1_800, 24_600, 600)
    assert early.report.quantities.produced == 2  # the rework at 16:05 belongs to the late shift
    assert late.report.quantities.produced == 2


def _busy(report: OeeReport) -> tuple[float, float, float, float]:
    times = report.times
    return times.planned_busy_s, times.planned_downtime_s, times.production_s, times.delay_s


def test_a_period_over_the_clock_change_counts_monday_in_summer_time(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    _states(perf, line.supervisor, [
        (local(29, 6), "running"), (local(29, 13), "down"), (local(29, 23), "idle"),
    ])  # fmt: skip
    report = perf.oee(equipment=PRESS, start=FRIDAY[0], end=local(30, 0))
    # Monday: running 06:00-13:00 less 45 min of breaks; down 13:00-14:00 and the late shift
    assert report.times.production_s == 47_100 + 22_500
    assert report.times.delay_s == 2_400 + 3_600 + 27_000
    assert report.times.planned_busy_s == 49_500 + 53_100
    (monday_early,) = [
        s for s in perf.oee_per_shift(equipment=PRESS, start=local(29, 0), end=local(30, 0))
        if s.shift == "early"
    ]  # fmt: skip
    assert monday_early.report.start == dt.datetime(2027, 3, 29, 4, tzinfo=dt.UTC)


def test_a_work_centre_sums_its_machines_and_a_product_filters_the_units(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    center = perf.oee(work_center="crimping", start=FRIDAY[0], end=FRIDAY[1])
    assert center.equipment == (PRESS,)
    assert center.kpis == perf.oee(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1]).kpis
    other = perf.oee(equipment=PRESS, product="HA-200", start=FRIDAY[0], end=FRIDAY[1])
    assert other.quantities.produced == 0
    assert other.kpis.quality_ratio is None


def test_a_supervisor_splits_a_stop_and_the_newest_coding_holds(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    (stop,) = [s for s in perf.stops(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
               if s.start == local(26, 20)]  # fmt: skip
    assert (stop.state, stop.reason, stop.needs_reason) == ("idle", "", True)
    perf.code_stop(actor=line.supervisor, equipment=PRESS, comment="it was two things", parts=[
        StopPart(local(26, 8), local(26, 8, 10), "unplanned/material/terminals missing"),
        StopPart(local(26, 20), local(26, 20, 10), "planned/no orders/no work order"),
    ])  # fmt: skip
    report = perf.oee(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
    assert report.losses == (
        Loss(FAULT, 1_200),
        Loss("unplanned/material/terminals missing", 600),
    )
    assert report.times.planned_downtime_s == 3_600 + 600
    stops = perf.stops(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
    assert [(s.start, s.reason, s.needs_reason) for s in stops] == [
        (local(26, 0), "", True),  # idle since before the period
        (local(26, 8), "unplanned/material/terminals missing", False),
        (local(26, 13, 30), MAINTENANCE, False),
        (local(26, 20), "planned/no orders/no work order", False),
        (local(26, 23), "", True),
    ]
    assert AuditTrail(line.engine.db).verify().ok


def test_codings_that_cannot_be_right_are_refused_with_a_reason(
    perf: Performance, line: Line, clock: Clock
) -> None:
    _friday(perf, line, clock)
    with pytest.raises(Invalid) as unknown:
        gremlins = StopPart(local(26, 8), local(26, 8, 30), "unplanned/gremlins")
        perf.code_stop(actor=line.operator, equipment=PRESS, parts=[gremlins])
    assert unknown.value.message.startswith(
        "'unplanned/gremlins' is not a downtime reason here; use one of: "
        "planned/maintenance/preventive maintenance, planned/maintenance/applicator change,"
    )
    with pytest.raises(Conflict) as running:
        perf.code_stop(actor=line.operator, equipment=PRESS,
                       parts=[StopPart(local(26, 7), local(26, 8, 30), FAULT)])  # fmt: skip
    assert running.value.message == (
        "'crimp-press-1' was running between 2027-03-26T06:00:00+00:00 and "
        "2027-03-26T07:30:00+00:00; code only the time it stood still."
    )
    with pytest.raises(Forbidden) as not_theirs:
        perf.code_stop(actor=line.quality, equipment=PRESS,
                       parts=[StopPart(local(26, 8), local(26, 8, 30), FAULT)])  # fmt: skip
    assert not_theirs.value.message == (
        f"User '{line.quality}' may not code a stop: that needs the role 'admin' or 'operator' "
        "or 'supervisor'; ask an admin to grant it."
    )
    with pytest.raises(Invalid) as future:
        perf.code_stop(actor=line.operator, equipment=PRESS,
                       parts=[StopPart(local(30, 11), local(30, 14), FAULT)])  # fmt: skip
    assert future.value.message == (
        "A stop can only be coded up to now; 2027-03-30T12:00:00+00:00 is in the future."
    )
    with pytest.raises(Invalid) as tester:
        perf.stops(equipment="tester-1", start=FRIDAY[0], end=FRIDAY[1])
    assert tester.value.message == (
        "Stops of 'tester-1' cannot be coded: its work center declares no downtime reasons. "
        "Add a downtime: reason tree to the work center in the config."
    )
    with pytest.raises(Invalid) as unaligned:
        perf.oee(equipment=PRESS, start=local(26, 6, 5), end=FRIDAY[1])
    assert unaligned.value.message == (
        "A KPI period runs forward from quarter-hour to quarter-hour; "
        "2027-03-26T05:05:00+00:00 to 2027-03-26T23:00:00+00:00 does not."
    )


def test_rebuilt_buckets_give_the_same_kpis(perf: Performance, line: Line, clock: Clock) -> None:
    _friday(perf, line, clock)
    before = perf.oee(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1])
    assert perf.rebuild_state_buckets(PRESS) == 8
    assert perf.oee(equipment=PRESS, start=FRIDAY[0], end=FRIDAY[1]) == before


def test_dated_planned_downtime_is_planned_downtime_not_planned_busy_time(
    perf: Performance, line: Line, clock: Clock
) -> None:
    # acme-harness: maintenance on Wednesday 2027-03-31 06:00-08:00 (summer time: 04:00-06:00 UTC)
    _states(perf, line.supervisor, [(local(31, 6), "running"), (local(31, 22), "idle")])
    clock.now = local(31, 23)
    wednesday = perf.day(dt.date(2027, 3, 31))
    report = perf.oee(equipment=PRESS, start=wednesday[0], end=wednesday[1])
    assert report.times.planned_downtime_s == 7_200
    assert report.times.planned_busy_s == 53_100 - 7_200
    assert (report.times.production_s, report.times.delay_s) == (53_100 - 7_200, 0)
    assert report.kpis.availability == 1.0
    early, late = perf.oee_per_shift(equipment=PRESS, start=wednesday[0], end=wednesday[1])
    assert _busy(early.report) == (26_100 - 7_200, 7_200, 26_100 - 7_200, 0)
    assert _busy(late.report) == (27_000, 0, 27_000, 0)
    assert AuditTrail(line.engine.db).verify().ok


def test_a_plant_shutdown_day_has_no_planned_busy_time(
    perf: Performance, line: Line, clock: Clock
) -> None:
    eve = dt.datetime(2026, 12, 24, 6, tzinfo=BERLIN).astimezone(dt.UTC)
    _states(perf, line.supervisor, [(eve, "running")])
    clock.now = eve + dt.timedelta(days=1)
    start, end = perf.day(dt.date(2026, 12, 24))
    report = perf.oee(equipment=PRESS, start=start, end=end)
    assert _busy(report) == (0, 53_100, 0, 0)  # running in a shutdown is not production time
    assert (report.kpis.availability, report.kpis.oee_index) == (None, None)


def _crimp(
    perf: Performance, line: Line, clock: Clock, unit: str, times: Span, height: float
) -> None:
    """Crimp ``unit`` from ``times[0]`` to ``times[1]`` with the given crimp height."""
    clock.now = times[0]
    perf.start_operation(actor=line.operator, item=unit, operation="crimp")
    clock.now = times[1]
    perf.complete_operation(
        actor=line.operator, item=unit, operation="crimp",
        data={**CRIMP_DATA, "crimp_height": height}, consume=[ConsumptionInput("TERM-22", "T-001")],
    )  # fmt: skip


def test_the_six_big_losses_and_allocation_ratios_add_up_from_a_known_early_shift(
    perf: Performance, line: Line, clock: Clock
) -> None:
    """Thursday 25 March 2027, early shift 06:00-14:00 (26,100 s without breaks): set-up until
    06:30, a 30 min press fault at 07:00, a 4 min stop at 08:00 (under code_after: a small stop),
    running otherwise. Order A: A1 crimped 07:40-07:45 (good), A2 07:50-07:52 (rework: a
    production reject). Order B: B1 11:00-11:01 (rework at the order's first run on the press: a
    startup reject), again 11:30-11:32 (good). 25 s ideal per crimp."""
    _states(perf, line.supervisor, [
        (local(25, 6), "setup"), (local(25, 6, 30), "running"), (local(25, 7), "down"),
        (local(25, 7, 30), "running"), (local(25, 8), "idle"), (local(25, 8, 4), "running"),
        (local(25, 14), "idle"),
    ])  # fmt: skip
    floor = replace(line, engine=perf)
    clock.now = local(25, 6, 10)
    a1, a2 = floor.release(2)
    (b1,) = floor.release(1)
    for unit in (a1, a2, b1):
        floor.cut(unit)
    _crimp(perf, line, clock, a1, (local(25, 7, 40), local(25, 7, 45)), 1.55)
    _crimp(perf, line, clock, a2, (local(25, 7, 50), local(25, 7, 52)), 1.30)
    _crimp(perf, line, clock, b1, (local(25, 11), local(25, 11, 1)), 1.30)
    _crimp(perf, line, clock, b1, (local(25, 11, 30), local(25, 11, 32)), 1.55)
    clock.now = AFTER
    perf.code_stop(actor=line.operator, equipment=PRESS,
                   parts=[StopPart(local(25, 7), local(25, 7, 30), FAULT)])  # fmt: skip

    report = perf.losses(equipment=PRESS, start=local(25, 6), end=local(25, 14))
    six = report.losses
    assert (six.breakdowns_s, six.setup_s, six.small_stops_s) == (1_800, 1_800, 240)
    assert six.reduced_speed_s == 26_100 - 1_800 - 1_800 - 240 - 4 * 25
    assert (six.startup_rejects, six.startup_rejects_s) == (1, 25)
    assert (six.production_rejects, six.production_rejects_s) == (1, 25)
    assert six.fully_productive_s == 50
    total = sum(value for name, value in six.to_json().items() if name.endswith("_s"))
    assert (
        total
        == perf.oee(equipment=PRESS, start=local(25, 6), end=local(25, 14)).times.planned_busy_s
    )
    order_a = line.engine.item(a1).work_order
    order_b = line.engine.item(b1).work_order
    assert [(o.work_order, o.runs, o.busy_s, o.execution_s) for o in report.orders] == sorted([
        (order_a, 2, 300 + 120, 720),
        (order_b, 2, 60 + 120, 1_920),
    ])  # fmt: skip
    assert [o.allocation_ratio for o in report.orders] == [
        o[1] for o in sorted([(order_a, 420 / 720), (order_b, 180 / 1_920)])
    ]
    assert report.to_json()["orders"][0]["allocation_ratio"] == report.orders[0].allocation_ratio
    assert AuditTrail(line.engine.db).verify().ok
