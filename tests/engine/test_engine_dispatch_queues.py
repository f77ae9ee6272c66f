"""Work-centre queues: what waits where, most urgent first, what runs there, and an item that
keeps the work centre of the version it was released under."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import Line, line  # noqa: F401
from testdata import ACME

from engine.commands import versions
from engine.commands.workorders import WorkOrderPlan
from engine.errors import Invalid, NotFound
from engine.facade.dispatch import Dispatch, WorkCenterLoad


def _order(line: Line, quantity: int, plan: WorkOrderPlan) -> list[str]:
    order = line.engine.create_work_order(
        actor=line.supervisor, product="HA-100", quantity=quantity, plan=plan
    )
    return list(line.engine.release_work_order(actor=line.supervisor, number=order.number).items)


def test_the_queue_is_ordered_by_priority_then_due_date_then_age(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    late_normal = _order(line, 2, WorkOrderPlan(dt.date(2027, 3, 10), 5, "SO-1"))
    urgent_undated = _order(line, 1, WorkOrderPlan(None, 2, "SO-2"))
    urgent_dated = _order(line, 1, WorkOrderPlan(dt.date(2027, 3, 1), 2, "SO-3"))
    queue = dispatch.queue("cutting")
    assert [e.item for e in queue.waiting] == [*urgent_dated, *urgent_undated, *late_normal]
    first = queue.waiting[0]
    assert (first.operation, first.status, first.kind, first.quantity) == (
        "cut",
        "queued",
        "unit",
        1.0,
    )
    assert (first.due_date, first.priority, first.erp_reference) == (dt.date(2027, 3, 1), 2, "SO-3")
    assert (queue.total, queue.offset, queue.running) == (4, 0, ())
    page = dispatch.queue("cutting", limit=2, offset=2)
    assert [e.item for e in page.waiting] == late_normal
    assert page.total == 4


def test_started_items_run_and_finished_ones_move_on(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    first, second, third = _order(line, 3, WorkOrderPlan())
    assert line.cut(first) == "next"
    line.engine.start_operation(actor=line.operator, item=second, operation="cut")
    cutting = dispatch.queue("cutting")
    assert [e.item for e in cutting.waiting] == [third]
    assert [(e.item, e.status) for e in cutting.running] == [(second, "in_progress")]
    crimping = dispatch.queue("crimping")
    assert [(e.item, e.operation) for e in crimping.waiting] == [(first, "crimp")]
    assert dispatch.work_centers() == [
        WorkCenterLoad("crimping", "Terminal crimping", 1),
        WorkCenterLoad("cutting", "Wire cutting and stripping", 1),
        WorkCenterLoad("testing", "End-of-line electrical test", 0),
    ]


def test_held_and_closed_work_leaves_the_queue(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    first, second = _order(line, 2, WorkOrderPlan())
    line.engine.hold(actor=line.supervisor, item=first, reason="wire reel suspect")
    assert [e.item for e in dispatch.queue("cutting").waiting] == [second]
    number = line.engine.item(second).work_order
    line.engine.release(actor=line.supervisor, item=first, reason="reel fine")
    dispatch.close_work_order(actor=line.supervisor, number=number, reason="cancelled by SO")
    assert dispatch.queue("cutting").waiting == ()


def test_an_unknown_work_centre_and_a_bad_page_are_refused(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    with pytest.raises(NotFound) as unknown:
        dispatch.queue("cuting")
    assert unknown.value.message == (
        "The plant has no work centre 'cuting'; did you mean 'cutting'?"
    )
    with pytest.raises(Invalid) as limit:
        dispatch.queue("cutting", limit=500)
    assert limit.value.message == "Ask for 1 to 200 queue entries at a time, not 500."
    with pytest.raises(Invalid) as offset:
        dispatch.queue("cutting", offset=-1)
    assert offset.value.message == "The offset counts from 0; -1 is not one."


def test_an_item_keeps_the_work_centre_of_its_version(line: Line) -> None:
    dispatch = Dispatch(line.engine.db)
    (old,) = _order(line, 1, WorkOrderPlan())
    files = {
        str(path.relative_to(ACME)): path.read_text()
        for path in ACME.rglob("*")
        if path.is_file() and path.suffix in (".yaml", ".md")
    }
    routing = files["routings/harness-a.yaml"]
    files["routings/harness-a.yaml"] = routing.replace(
        "work_center: cutting", "work_center: crimping", 1
    )
    assets = {
        str(path.relative_to(ACME)): path.read_bytes()
        for path in ACME.rglob("*")
        if path.is_file() and path.suffix not in (".yaml", ".md")
    }
    versions.deploy(line.engine.db, files, actor="admin", note="cut moves", assets=assets)
    (new,) = _order(line, 1, WorkOrderPlan())
    assert [e.item for e in dispatch.queue("cutting").waiting] == [old]
    assert [e.item for e in dispatch.queue("crimping").waiting] == [new]
