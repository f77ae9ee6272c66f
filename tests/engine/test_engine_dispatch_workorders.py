"""Work orders with due dates, priorities and ERP references; re-planning and closing them,
every change audited and sealed."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import json

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import select

from engine.commands.workorders import WorkOrderPlan
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.audit import AuditTrail
from engine.facade.dispatch import Dispatch
from engine.records.tables import AuditRecord

DUE = dt.date(2027, 3, 1)


def _audit(line: Line, number: str) -> list[tuple[str, str]]:
    with line.engine.db.session() as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.reason)
            .where(AuditRecord.entity_id == number)
            .order_by(AuditRecord.seq)
        ).all()
    return [(action, reason) for action, reason in rows]


def test_a_work_order_carries_its_due_date_priority_and_erp_reference(line: Line) -> None:
    plan = WorkOrderPlan(due_date=DUE, priority=2, erp_reference="  SO-4711/10 ")
    order = line.engine.create_work_order(
        actor=line.supervisor, product="HA-100", quantity=2, plan=plan
    )
    assert (order.due_date, order.priority, order.erp_reference) == (DUE, 2, "SO-4711/10")
    plain = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=1)
    assert (plain.due_date, plain.priority, plain.erp_reference) == (None, 5, "")
    assert order.to_json()["due_date"] == "2027-03-01"
    assert type(order).from_json(order.to_json()) == order
    assert AuditTrail(line.engine.db).verify().ok


@pytest.mark.parametrize("priority", [0, 10, True])
def test_a_priority_outside_one_to_nine_is_refused(line: Line, priority: int) -> None:
    with pytest.raises(Invalid) as bad:
        line.engine.create_work_order(
            actor=line.supervisor,
            product="HA-100",
            quantity=1,
            plan=WorkOrderPlan(priority=priority),
        )
    assert bad.value.message == (
        "The priority must be a whole number from 1 (most urgent) to 9 (least urgent), "
        f"not {priority!r}."
    )
    assert bad.value.field == "priority"


def test_replanning_changes_the_plan_and_audits_old_and_new(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    order = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=1)
    planned = dispatch.plan_work_order(
        actor=line.supervisor,
        number=order.number,
        plan=WorkOrderPlan(due_date=DUE, priority=1, erp_reference="SO-1"),
        reason="customer pulled in",
    )
    assert (planned.due_date, planned.priority, planned.erp_reference) == (DUE, 1, "SO-1")
    same = dispatch.plan_work_order(
        actor=line.supervisor, number=order.number, plan=WorkOrderPlan(DUE, 1, "SO-1")
    )
    assert same == planned  # nothing changed, nothing recorded
    assert _audit(line, order.number) == [("create", ""), ("plan", "customer pulled in")]
    with line.engine.db.session() as session:
        row = session.scalars(select(AuditRecord).where(AuditRecord.action == "plan")).one()
    assert json.loads(row.old) == {"due_date": None, "priority": 5, "erp_reference": ""}
    assert json.loads(row.new) == {"due_date": "2027-03-01", "priority": 1, "erp_reference": "SO-1"}
    with pytest.raises(Forbidden) as operator:
        dispatch.plan_work_order(
            actor=line.operator, number=order.number, plan=WorkOrderPlan(priority=3)
        )
    assert operator.value.message == (
        "User 'olga' may not plan work orders: that needs the role 'admin' or 'supervisor'; "
        "ask an admin to grant it."
    )
    assert AuditTrail(line.engine.db).verify().ok


def test_closing_scraps_what_was_not_started_and_needs_a_reason(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    first, second, third = line.release(3)
    number = line.engine.item(first).work_order
    assert line.cut(first) == "next"
    assert line.crimp(first) == "next"
    assert line.test(first) == "completed"
    with pytest.raises(Invalid) as no_reason:
        dispatch.close_work_order(actor=line.supervisor, number=number, reason=" ")
    assert no_reason.value.message == (
        f"Give a reason to close work order {number}: its 2 items not yet started will be scrapped."
    )
    closed = dispatch.close_work_order(
        actor=line.supervisor, number=number, reason="customer needs only one"
    )
    assert (closed.status, closed.status_reason) == ("closed", "customer needs only one")
    for unit in (second, third):
        view = line.engine.item(unit)
        assert (view.status, view.current_operation) == ("scrapped", None)
        assert view.status_reason == "work order closed: customer needs only one"
        assert _audit(line, unit)[-1] == ("scrap", "work order closed: customer needs only one")
    assert line.engine.item(first).status == "completed"
    assert _audit(line, number)[-1] == ("close", "customer needs only one")
    with pytest.raises(Conflict) as again:
        dispatch.close_work_order(actor=line.supervisor, number=number, reason="again")
    assert again.value.message == (
        f"Work order {number} is closed; only a released one can be closed."
    )
    replan = WorkOrderPlan(priority=1)
    with pytest.raises(Conflict) as late:
        dispatch.plan_work_order(actor=line.supervisor, number=number, plan=replan)
    assert (
        late.value.message == f"Work order {number} is closed; only an open one can be re-planned."
    )
    assert AuditTrail(line.engine.db).verify().ok


def test_closing_waits_for_items_in_progress(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    first, _ = line.release(2)
    number = line.engine.item(first).work_order
    line.engine.start_operation(actor=line.operator, item=first, operation="cut")
    with pytest.raises(Conflict) as busy:
        dispatch.close_work_order(actor=line.supervisor, number=number, reason="stop")
    assert busy.value.message == (
        f"Work order {number} has 1 item in progress, on hold or nonconforming ({first}); "
        "finish, release or disposition them before closing it."
    )
    assert line.engine.work_order(number).status == "released"


def test_closing_a_finished_order_completes_it_without_a_reason(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    (unit,) = line.release(1)
    number = line.engine.item(unit).work_order
    line.cut(unit)
    line.crimp(unit)
    line.test(unit)
    done = dispatch.close_work_order(actor=line.supervisor, number=number)
    assert (done.status, done.status_reason) == ("completed", "")
    assert _audit(line, number)[-1] == ("complete", "")


def test_a_cancel_keeps_its_reason_on_the_order(line: Line) -> None:
    order = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=1)
    cancelled = line.engine.cancel_work_order(
        actor=line.supervisor, number=order.number, reason="duplicate of SO-1"
    )
    assert (cancelled.status, cancelled.status_reason) == ("cancelled", "duplicate of SO-1")
