"""The finite-capacity schedule on acme-harness (cut 40 s at cutting, crimp 25 s on
crimp-press-1, test 1 min on tester-1, per unit; shifts 06:00-14:00 and 14:00-22:00 Berlin,
Monday to Friday, with breaks): times to the second, priorities, gap filling, lateness at the
end of the site's due day, work that waits for the next shift, and equipment that is down."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt

from engine_exec_support import Line, line  # noqa: F401

from engine.commands.workorders import WorkOrderPlan
from engine.facade.dispatch import Dispatch
from engine.queries.schedule import PlannedOperation, Schedule

NOW = dt.datetime(2027, 3, 1, 6, 0, tzinfo=dt.UTC)  # Monday 07:00 in Berlin, in the early shift
EVENING = dt.datetime(2027, 3, 1, 20, 50, tzinfo=dt.UTC)  # 21:50: the late shift ends at 22:00


def _schedule(line: Line, now: dt.datetime = NOW) -> Schedule:
    return Dispatch(line.engine.db, clock=lambda: now).schedule()


def _order(line: Line, quantity: int, plan: WorkOrderPlan, *, release: bool = True) -> str:
    order = line.engine.create_work_order(
        actor=line.supervisor, product="HA-100", quantity=quantity, plan=plan
    )
    if release:
        line.engine.release_work_order(actor=line.supervisor, number=order.number)
    return order.number


def _times(
    jobs: tuple[PlannedOperation, ...], now: dt.datetime = NOW
) -> list[tuple[str, str, float, int, int]]:
    """(operation, resource, quantity, start, finish) with times in seconds from ``now``."""
    return [
        (
            j.operation,
            j.resource,
            j.quantity,
            int((j.start - now).total_seconds()),
            int((j.finish - now).total_seconds()),
        )
        for j in jobs
    ]


def test_the_routing_declares_ideal_cycle_times(line: Line) -> None:
    operations = line.plant.routing_for("HA-100").operations
    assert [(op.id, op.cycle_time_s) for op in operations] == [
        ("cut", 40.0),
        ("crimp", 25.0),
        ("test", 60.0),
    ]


def test_an_order_moves_through_its_resources_as_one_batch(line: Line) -> None:
    number = _order(line, 2, WorkOrderPlan(due_date=dt.date(2027, 3, 2)))
    (order,) = _schedule(line).orders
    assert order.work_order == number
    assert _times(order.operations) == [
        ("cut", "cutting", 2.0, 0, 80),
        ("crimp", "crimp-press-1", 2.0, 80, 130),
        ("test", "tester-1", 2.0, 130, 250),
    ]
    assert order.finish == NOW + dt.timedelta(seconds=250)
    assert not order.late


def test_the_urgent_order_goes_first_and_a_waiting_unit_fills_a_gap(line: Line) -> None:
    (almost,) = line.release(1)
    line.cut(almost)
    line.crimp(almost)  # waits at test
    urgent = _order(line, 2, WorkOrderPlan(priority=1))
    plan = _schedule(line)
    assert [o.work_order for o in plan.orders] == [urgent, line.engine.item(almost).work_order]
    assert _times(plan.orders[0].operations) == [
        ("cut", "cutting", 2.0, 0, 80),
        ("crimp", "crimp-press-1", 2.0, 80, 130),
        ("test", "tester-1", 2.0, 130, 250),
    ]
    # the tester is free until the urgent order arrives at 130 s: the waiting unit goes first
    assert _times(plan.orders[1].operations) == [("test", "tester-1", 1.0, 0, 60)]
    assert plan.resources == ("crimp-press-1", "cutting", "tester-1")
    assert plan.horizon == NOW + dt.timedelta(seconds=250)


def test_an_order_that_spills_into_the_next_shift_after_its_due_day_is_late(line: Line) -> None:
    late = _order(line, 5, WorkOrderPlan(due_date=dt.date(2027, 3, 1), priority=1))
    on_time = _order(line, 1, WorkOrderPlan(due_date=dt.date(2027, 3, 2)))
    unplanned = _order(line, 1, WorkOrderPlan(), release=False)
    plan = _schedule(line, EVENING)
    assert [(o.work_order, o.late) for o in plan.orders] == [
        (late, True),  # 625 s of work from 21:50, the shift ending at 22:00: done 06:00:25 Tuesday
        (on_time, False),
        (unplanned, False),
    ]
    tuesday = dt.datetime(2027, 3, 2, 5, 0, tzinfo=dt.UTC)  # 06:00 in Berlin
    assert _times(plan.orders[0].operations, EVENING)[-1] == (
        "test", "tester-1", 5.0, 325, int((tuesday - EVENING).total_seconds()) + 25,
    )  # fmt: skip
    assert plan.orders[0].finish == tuesday + dt.timedelta(seconds=25)
    assert plan.late == (plan.orders[0],)
    assert plan.orders[2].status == "created"
    assert _times(plan.orders[2].operations, EVENING)[0] == ("cut", "cutting", 1.0, 240, 280)
    assert plan.to_json()["late"][0]["work_order"] == late


def test_equipment_that_is_down_is_planned_from_when_it_is_assumed_back(line: Line) -> None:
    _order(line, 1, WorkOrderPlan())
    line.engine.record_equipment_state(
        actor=line.supervisor, name="crimp-press-1", state="down", at=NOW, source="manual"
    )
    (order,) = _schedule(line).orders
    crimp = order.operations[1]
    assert _times((crimp,)) == [("crimp", "crimp-press-1", 1.0, 3600, 3625)]
    assert crimp.note == "crimp-press-1 is down; assumed back in 1:00:00"
    assert _times(order.operations[2:]) == [("test", "tester-1", 1.0, 3625, 3685)]


def test_no_job_is_planned_in_the_calendars_dated_planned_downtime(line: Line) -> None:
    # acme-harness stops for maintenance on 2027-03-31 06:00-08:00 Berlin (CEST: 04:00-06:00 UTC),
    # which is when its early shift begins: nothing runs before 08:00
    before = dt.datetime(2027, 3, 31, 3, 58, tzinfo=dt.UTC)
    _order(line, 2, WorkOrderPlan(due_date=dt.date(2027, 3, 31)))
    (order,) = Dispatch(line.engine.db, clock=lambda: before).schedule().orders
    assert [
        (
            j.operation,
            int((j.start - before).total_seconds()),
            int((j.finish - before).total_seconds()),
        )
        for j in order.operations
    ] == [("cut", 7_320, 7_400), ("crimp", 7_400, 7_450), ("test", 7_450, 7_570)]
    assert not order.late
