"""Preventive maintenance by a usage counter tag (resets and an unreadable counter fail safe)
and the maintenance orders opened when it is warned or due, worked and closed."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import Line
from test_engine_equipment_care import MEANING, PRESS, START, Clock, _engine, _verified
from testdata import PASSWORD

from dsl.model import Plant
from engine.access.signatures import SignatureInput
from engine.commands.explanations import describe_failure
from engine.commands.maintenance import MaintenanceInput
from engine.errors import Blocked, Conflict, Forbidden, Invalid, NotFound
from engine.facade.equipment import EquipmentCare
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database

STROKES = "press1.strokes"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def care(db: Database, plant: Plant, users: object, clock: Clock) -> EquipmentCare:
    return _engine(db, plant, clock)


@pytest.fixture
def line(care: EquipmentCare, plant: Plant, users: object) -> Line:
    return Line(care, _tags(care), plant, "olga", "sam", "quinn", PASSWORD)


def _tags(care: EquipmentCare) -> StaticTagSource:
    tags = care.runtime.tags
    assert isinstance(tags, StaticTagSource)
    return tags


def _maintain(care: EquipmentCare, clock: Clock, work: str = "Die and anvil replaced") -> int:
    return care.record_maintenance(
        actor="quinn", equipment_name=PRESS, given=MaintenanceInput(clock.today, "Max", work),
        signature=SignatureInput("quinn", PASSWORD, MEANING),
    ).id  # fmt: skip


def _blocked_crimp(care: EquipmentCare, line: Line) -> list[str]:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    with pytest.raises(Blocked) as blocked:
        care.start_operation(actor="olga", item=unit, operation="crimp")
    return [describe_failure(c) for c in blocked.value.checks if c["outcome"] != "pass"]


def test_usage_counts_the_counter_since_the_maintenance_and_a_reset_blocks_until_recorded(
    care: EquipmentCare, line: Line, clock: Clock, db: Database
) -> None:
    card = care.equipment_card(PRESS)
    assert (card.usage_counter, card.counter_value, card.uses_since_maintenance) == (
        STROKES, 100.0, 100,
    )  # fmt: skip
    assert card.maintenance_every_uses == 20_000
    line.tags.set(STROKES, 20_100.0)
    yesterday = clock.today - dt.timedelta(days=1)
    assert _blocked_crimp(care, line) == [
        f"Maintenance of {PRESS} is overdue (equipment.maintenance_due = {yesterday}, "
        f"today = {clock.today})"
    ]
    done = care.record_maintenance(
        actor="quinn", equipment_name=PRESS, given=MaintenanceInput(clock.today, "Max", "Die"),
        signature=SignatureInput("quinn", PASSWORD, MEANING),
    )  # fmt: skip
    assert done.counter_at == 20_100.0
    line.tags.set(STROKES, 20_350.0)
    assert care.equipment_card(PRESS).uses_since_maintenance == 250
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    line.tags.set(STROKES, 40.0)  # the press controller was replaced: its counter restarts
    reset = (
        f"Maintenance of {PRESS} is overdue (cannot be checked: equipment.maintenance_due is "
        f"unavailable: {STROKES} went down from 20100 at the last maintenance to 40 (a counter "
        f"reset or rollover), so the uses of {PRESS} since cannot be counted; record the "
        f"maintenance to count from the new value, today = {clock.today})"
    )
    assert _blocked_crimp(care, line) == [reset]
    card = care.equipment_card(PRESS)
    assert (card.uses_since_maintenance, card.counter_value) == (None, 40.0)
    assert card.usage_unknown.startswith(f"{STROKES} went down from 20100")
    _maintain(care, clock)
    assert care.equipment_card(PRESS).uses_since_maintenance == 0
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    _verified(db)


def test_an_unreadable_counter_blocks_the_start_and_refuses_the_maintenance_record(
    care: EquipmentCare, line: Line, clock: Clock
) -> None:
    line.tags.set_bad(STROKES, "press1: connection refused (since 12 s ago)")
    assert _blocked_crimp(care, line) == [
        f"Maintenance of {PRESS} is overdue (cannot be checked: equipment.maintenance_due is "
        f"unavailable: {STROKES} is unavailable: press1: connection refused (since 12 s ago), so "
        f"the uses of {PRESS} since its last maintenance cannot be counted, today = "
        f"{clock.today})"
    ]
    assert care.equipment_card(PRESS).uses_since_maintenance is None
    with pytest.raises(Conflict) as refused:
        _maintain(care, clock)
    assert refused.value.message == (
        f"Maintenance of {PRESS} cannot be recorded now: {STROKES} is unavailable: press1: "
        "connection refused (since 12 s ago), and the uses since this maintenance count from its "
        "value. Record it once the counter reads again."
    )


def test_an_order_is_opened_once_at_the_warning_closed_by_the_maintenance_then_again(
    care: EquipmentCare, line: Line, clock: Clock, db: Database
) -> None:
    assert care.open_due_orders() == []
    line.tags.set(STROKES, 18_500.0)  # 1,500 strokes left: within the last tenth
    (order,) = care.open_due_orders()
    assert (order.number, order.equipment, order.status) == ("MO-00001", PRESS, "open")
    assert order.reason == "Maintenance is due on 2027-03-31 or in 1500 uses"
    assert care.open_due_orders() == []
    started = care.start_maintenance_order(actor="quinn", number=order.number)
    assert (started.status, started.started_by) == ("in_progress", "quinn")
    with pytest.raises(Conflict) as again:
        care.start_maintenance_order(actor="quinn", number=order.number)
    assert again.value.message == (
        "Maintenance order MO-00001 is in progress; only an open order can be started."
    )
    maintenance_id = _maintain(care, clock)
    closed = care.maintenance_order(order.number)
    assert (closed.status, closed.closed_by, closed.maintenance_id) == (
        "done", "quinn", maintenance_id,
    )  # fmt: skip
    assert care.open_due_orders() == []
    line.tags.set(STROKES, 18_500.0 + 19_000.0)
    (second,) = care.open_due_orders()
    assert (second.number, second.status) == ("MO-00002", "open")
    assert [o.number for o in care.equipment_card(PRESS).orders] == ["MO-00002", "MO-00001"]
    assert [o.number for o in care.maintenance_orders(status="active")] == ["MO-00002"]
    assert [o.number for o in care.maintenance_orders(status="done", equipment=PRESS)] == [
        "MO-00001"
    ]
    _verified(db)


def test_an_order_is_opened_when_due_by_days_and_a_cancelled_one_is_not_reopened(
    care: EquipmentCare, clock: Clock, db: Database
) -> None:
    clock.now = START.replace(year=2027, month=4, day=2)
    (order,) = care.open_due_orders()
    assert order.reason == "Maintenance was due on 2027-03-31"
    with pytest.raises(Invalid) as no_reason:
        care.cancel_maintenance_order(actor="quinn", number=order.number, reason=" ")
    assert no_reason.value.message == "Say why the maintenance order is cancelled."
    with pytest.raises(Forbidden) as operator:
        care.cancel_maintenance_order(actor="olga", number=order.number, reason="no")
    assert operator.value.message.startswith(
        "User 'olga' may not cancel maintenance order MO-00001: that needs the role"
    )
    cancelled = care.cancel_maintenance_order(
        actor="quinn", number=order.number, reason="Press is being scrapped"
    )
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Press is being scrapped")
    assert care.open_due_orders() == []
    with pytest.raises(Conflict) as done:
        care.cancel_maintenance_order(actor="quinn", number=order.number, reason="twice")
    assert done.value.message == "Maintenance order MO-00001 is cancelled and cannot be cancelled."
    with pytest.raises(NotFound) as unknown:
        care.maintenance_order("MO-99999")
    assert unknown.value.message == (
        "There is no maintenance order 'MO-99999'; check the number on the maintenance orders page."
    )
    with pytest.raises(Invalid) as status:
        care.maintenance_orders(status="closed")
    assert status.value.message == (
        "Unknown status 'closed'; choose one of active, open, in_progress, done, cancelled."
    )
    _verified(db)
