"""The schedule through the API and the supervisor's Gantt page: a late order is flagged."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask import Flask
from flask.testing import FlaskClient
from web_support import Api, sign_in

from dsl.model import Plant
from engine.commands.workorders import WorkOrderPlan


def _release(app: Flask, quantity: int, plan: WorkOrderPlan) -> str:
    ferrule = app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=quantity, plan=plan)
    ferrule.release_work_order(actor="sam", number=order.number)
    return str(order.number)


def test_the_schedule_api_names_the_late_orders(api: Api, shop: Plant) -> None:
    overdue = _release(api.app, 2, WorkOrderPlan(due_date=dt.date(2026, 1, 5)))
    fine = _release(api.app, 1, WorkOrderPlan(due_date=dt.date(2099, 1, 1)))
    plan = api.get("/api/schedule", "sam")
    assert plan.status_code == 200
    assert [o["work_order"] for o in plan.json["late"]] == [overdue]
    assert [(o["work_order"], o["late"]) for o in plan.json["orders"]] == [
        (overdue, True),
        (fine, False),
    ]
    cut = plan.json["orders"][0]["operations"][0]
    assert (cut["operation"], cut["resource"], cut["quantity"]) == ("cut", "cutting", 2.0)
    assert plan.json["resources"] == ["crimp-press-1", "cutting", "tester-1"]
    assert api.get("/api/schedule", "anna").status_code == 403


def test_the_gantt_page_draws_every_job_and_flags_the_late_order(
    line_client: FlaskClient, line_app: Flask
) -> None:
    overdue = _release(line_app, 1, WorkOrderPlan(due_date=dt.date(2026, 1, 5), priority=2))
    _release(line_app, 1, WorkOrderPlan())
    sign_in(line_client, "sam")
    response = line_client.get("/dispatch/schedule")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert f"1 work order will be late: {overdue}" in page
    svg = page.split('<svg xmlns="http://www.w3.org/2000/svg" class="gantt"')[1].split("</svg>")[0]
    assert svg.count('<g class="job late">') == 3  # cut, crimp and test of the late order
    assert svg.count('<g class="job">') == 3
    assert re.search(
        rf"<title>{overdue} · crimp · 1 · \d\d \w{{3}} \d\d:\d\d–\d\d:\d\d</title>", svg
    )
    for resource in ("cutting", "crimp-press-1", "tester-1"):
        assert f">{resource}</text>" in svg
    assert f'<tr data-order="{overdue}">' in page
    assert line_client.get("/supervisor/").get_data(as_text=True).count('href="/dispatch/schedule"')
    sign_in(line_client, "anna")
    assert line_client.get("/dispatch/schedule").status_code == 403
