"""The live supervisor board: WIP per operation in routing order, each open order's progress and
late flags, and server-sent events that carry a fresh board when (and only when) something
changed — in the browser, without a reload."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from testdata import PASSWORD
from web_support import Api, sign_in

from engine.commands.workorders import WorkOrderPlan
from engine.facade.board import SupervisorBoard
from engine.infra.db import Database

CUT = {
    "data": {"length": 500.1, "strip_length": 7},
    "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
}
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)


def _orders(app: Flask) -> tuple[str, list[str]]:
    """A late order of 3 (due two days ago) and a created order of 2; the late one's units."""
    ferrule = app.extensions["ferrule"].ferrule
    due = ferrule.create_work_order(
        actor="sam", product="HA-100", quantity=3, plan=WorkOrderPlan(YESTERDAY, priority=2)
    )
    units = list(ferrule.release_work_order(actor="sam", number=due.number).items)
    ferrule.create_work_order(actor="sam", product="HA-100", quantity=2)
    return due.number, units


def _complete_cut(app: Flask, db: Database, unit: str) -> None:
    api = Api(app, db)
    assert api.post(f"/api/items/{unit}/operations/cut/start", "anna").status_code == 200
    done = api.post(f"/api/items/{unit}/operations/cut/complete", "anna", CUT)
    assert done.status_code == 200, done.json


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_events_carry_the_board_when_the_marker_moves_and_end_in_bounded_time(
    line_app: Flask, db: Database
) -> None:
    number, units = _orders(line_app)
    line_app.config["FERRULE_BOARD_STREAM_S"] = 0.5
    client = line_app.test_client()
    sign_in(client, "sam")

    fresh = client.get("/supervisor/board/events")
    assert fresh.mimetype == "text/event-stream"
    text = fresh.get_data(as_text=True)  # the stream ends by itself
    assert text.startswith("retry: 1000\n\n")
    (event,) = [block for block in text.split("\n\n") if block.startswith("id: ")]
    marker = int(event.splitlines()[0].removeprefix("id: "))
    assert event.splitlines()[1] == "event: board"
    assert f'data-order="{number}"' in event and 'data-flag="overdue"' in event

    quiet = client.get("/supervisor/board/events", headers={"Last-Event-ID": str(marker)})
    assert quiet.get_data(as_text=True) == "retry: 1000\n\n"  # nothing changed: nothing sent

    _complete_cut(line_app, db, units[0])
    moved = client.get(f"/supervisor/board/events?since={marker}").get_data(as_text=True)
    assert "event: board" in moved and 'data-operation="crimp"' in moved


def test_the_board_lists_operations_in_routing_order_with_counts(
    line_app: Flask, db: Database
) -> None:
    number, units = _orders(line_app)
    _complete_cut(line_app, db, units[0])
    board = SupervisorBoard(db).board()
    assert [(w.operation, w.step, w.queued, w.in_progress) for w in board.operations] == [
        ("cut", 1, 2, 0),
        ("crimp", 2, 1, 0),
    ]
    late, created = board.orders
    assert (late.work_order, late.items, late.overdue, late.progress) == (number, 3, True, 0.0)
    assert (created.status, created.items, created.overdue, created.late) == (
        "created", 0, False, False,
    )  # fmt: skip
    assert board.to_json()["orders"][0]["progress"] == 0.0


@pytest.mark.browser
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_board_updates_without_a_reload_when_an_operation_completes(
    tab: Page, live_url: str, line_app: Flask, db: Database
) -> None:
    number, units = _orders(line_app)
    sign_in_browser(tab, live_url, "sam", PASSWORD)
    tab.goto(f"{live_url}/supervisor/board")
    operations = tab.locator("[data-board-wip] [data-operation]")
    expect(operations).to_have_count(1)
    expect(operations.first.locator("[data-count=queued]")).to_have_text("3 waiting")
    expect(tab.locator(f"[data-order='{number}'] [data-flag]")).to_have_text("overdue")
    tab.evaluate("window.notReloaded = true")

    _complete_cut(line_app, db, units[0])

    expect(operations).to_have_count(2, timeout=8_000)
    expect(tab.locator("[data-board-wip] [data-operation]")).to_have_text(
        [re.compile(r"1\s*cut.*2 waiting", re.S), re.compile(r"2\s*crimp.*1 waiting", re.S)]
    )
    assert tab.evaluate("window.notReloaded") is True  # the same page, redrawn in place
    expect(tab.locator(f"[data-order='{number}'] [data-progress]")).to_have_text("0 of 3 done")


def test_a_board_left_open_does_not_keep_its_session_alive(line_app: Flask, db: Database) -> None:
    line_app.config["FERRULE_BOARD_STREAM_S"] = 0.2
    client = line_app.test_client()
    sign_in(client, "sam")
    idle_since = time.time() - 25 * 60  # 25 of the 30 minutes gone
    with client.session_transaction() as stored:
        stored["seen"] = idle_since
    stream = client.get("/supervisor/board/events", headers={"Accept": "text/event-stream"})
    assert stream.get_data(as_text=True).startswith("retry: 1000")  # read to its end
    with client.session_transaction() as stored:
        assert stored["seen"] == idle_since  # the stream is not activity
    assert client.get("/supervisor/board").status_code == 200
    with client.session_transaction() as stored:
        assert stored["seen"] > idle_since  # a page the supervisor opens is
