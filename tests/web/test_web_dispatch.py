"""Dispatch through the API and the pages: work orders with a plan, re-planning, closing, the
work-centre queues, and the operator's landing page on their station's queue."""

from __future__ import annotations

import html

from flask import Flask
from flask.testing import FlaskClient
from web_support import Api, sign_in

from dsl.model import Plant
from engine.facade.audit import AuditTrail
from engine.infra.db import Database
from web.pages.dispatch import WORK_CENTER_COOKIE


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _order(api: Api, body: dict[str, object]) -> dict[str, object]:
    created = api.post("/api/work-orders", "sam", {"product": "HA-100", **body})
    assert created.status_code == 201, created.json
    number = created.json["number"]
    released = api.post(f"/api/work-orders/{number}/release", "sam")
    assert released.status_code == 200
    result: dict[str, object] = released.json
    return result


def test_a_work_order_is_created_with_its_plan_and_replanned(api: Api, shop: Plant) -> None:
    body = {"quantity": 2, "due_date": "2027-03-01", "priority": 2, "erp_reference": "SO-4711"}
    created = api.post("/api/work-orders", "sam", {"product": "HA-100", **body})
    assert created.status_code == 201
    assert {k: created.json[k] for k in ("due_date", "priority", "erp_reference")} == {
        "due_date": "2027-03-01",
        "priority": 2,
        "erp_reference": "SO-4711",
    }
    number = created.json["number"]
    replanned = api.call(
        "PATCH",
        f"/api/work-orders/{number}",
        "sam",
        json={"priority": 1, "reason": "line-down at the customer"},
    )
    assert replanned.status_code == 200
    assert (replanned.json["priority"], replanned.json["due_date"]) == (1, "2027-03-01")
    cleared = api.call("PATCH", f"/api/work-orders/{number}", "sam", json={"due_date": None})
    assert (cleared.json["due_date"], cleared.json["erp_reference"]) == (None, "SO-4711")
    assert AuditTrail(api.db).verify().ok


def test_bad_plans_are_refused_with_the_field(api: Api, shop: Plant) -> None:
    bad_date = api.post(
        "/api/work-orders", "sam", {"product": "HA-100", "quantity": 1, "due_date": "2027-13-01"}
    )
    assert bad_date.status_code == 400
    assert (
        bad_date.json["message"]
        == "due_date: '2027-13-01' is not a date; write it like 2027-03-01."
    )
    bad_priority = api.post(
        "/api/work-orders", "sam", {"product": "HA-100", "quantity": 1, "priority": 0}
    )
    assert bad_priority.status_code == 400
    assert bad_priority.json["message"] == "priority: 0 is below the minimum 1."
    operator = api.call("PATCH", "/api/work-orders/WO00001", "anna", json={"priority": 1})
    assert operator.status_code == 403


def test_closing_through_the_api_scraps_the_rest(api: Api, shop: Plant) -> None:
    order = _order(api, {"quantity": 2})
    number = order["number"]
    no_reason = api.post(f"/api/work-orders/{number}/close", "sam", {})
    assert no_reason.status_code == 422
    assert no_reason.json["message"] == (
        f"Give a reason to close work order {number}: its 2 items not yet started will be scrapped."
    )
    closed = api.post(f"/api/work-orders/{number}/close", "sam", {"reason": "order cut to 0"})
    assert closed.status_code == 200
    assert (closed.json["status"], closed.json["status_reason"]) == ("closed", "order cut to 0")
    again = api.post(f"/api/work-orders/{number}/close", "sam", {"reason": "again"})
    assert again.status_code == 409


def test_the_queue_api_lists_the_most_urgent_first(api: Api, shop: Plant) -> None:
    normal = _order(api, {"quantity": 1, "due_date": "2027-03-01"})
    urgent = _order(api, {"quantity": 1, "priority": 1, "erp_reference": "SO-9"})
    queue = api.get("/api/work-centers/cutting/queue?limit=10", "anna")
    assert queue.status_code == 200
    assert [e["item"] for e in queue.json["waiting"]] == [*urgent["items"], *normal["items"]]
    first = queue.json["waiting"][0]
    assert (first["work_order"], first["priority"], first["erp_reference"]) == (
        urgent["number"],
        1,
        "SO-9",
    )
    assert queue.json["total"] == 2
    centers = api.get("/api/work-centers", "anna").json
    assert {c["name"]: c["waiting"] for c in centers} == {"crimping": 0, "cutting": 2, "testing": 0}
    unknown = api.get("/api/work-centers/cuting/queue", "anna")
    assert unknown.status_code == 404
    assert (
        unknown.json["message"] == "The plant has no work centre 'cuting'; did you mean 'cutting'?"
    )
    bad = api.get("/api/work-centers/cutting/queue?limit=lots", "anna")
    assert bad.status_code == 400
    assert bad.json["message"] == "limit: expected a whole number, got 'lots'."
    too_many = api.get("/api/work-centers/cutting/queue?limit=500", "anna")
    assert too_many.status_code == 422
    assert too_many.json["message"] == "Ask for 1 to 200 queue entries at a time, not 500."


def test_the_operator_lands_on_the_work_centre_chosen_at_the_station(
    line_client: FlaskClient, line_app: Flask
) -> None:
    ferrule = line_app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=2)
    first, second = ferrule.release_work_order(actor="sam", number=order.number).items
    sign_in(line_client, "anna")
    chooser = _text(line_client.get("/station/"))
    assert "Which work centre is this station at?" in chooser
    assert '<a href="/station/?work_center=cutting">cutting</a>' in chooser
    assert "Wire cutting and stripping · 2 waiting" in chooser
    assert '<input id="scan-number" name="number"' in chooser  # scanning still works
    chosen = line_client.get("/station/?work_center=cutting")
    assert chosen.status_code == 200
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith(f"{WORK_CENTER_COOKIE}=cutting;") and "HttpOnly" in cookie
    landing = _text(line_client.get("/station/"))  # the cookie brings the queue back
    assert "Next at cutting" in landing
    assert f'href="/station/{first}" data-pick-next>Pick next: {first} · cut</a>' in landing
    assert landing.index(f'data-item="{first}"') < landing.index(f'data-item="{second}"')
    unknown = line_client.get("/station/?work_center=nowhere")
    assert unknown.status_code == 404
    assert "The plant has no work centre 'nowhere'; its work centres are: crimping, cutting, " in (
        _text(unknown)
    )


def test_a_supervisor_plans_and_closes_from_the_dispatch_page(
    line_client: FlaskClient, line_app: Flask, db: Database
) -> None:
    csrf = sign_in(line_client, "sam")
    created = line_client.post(
        "/supervisor/work-orders",
        data={
            "csrf_token": csrf,
            "product": "HA-100",
            "quantity": "2",
            "due_date": "2027-03-01",
            "priority": "3",
            "erp_reference": "SO-77",
            "release": "1",
        },
    )
    assert created.status_code == 303
    page = _text(line_client.get("/supervisor/"))
    assert "<td>WO00001</td><td>HA-100</td><td>2</td>\n        <td>SO-77</td>" in page
    assert "<td>3</td>\n        <td>2027-03-01</td>" in page
    bad = line_client.post(
        "/supervisor/work-orders/WO00001/plan",
        data={"csrf_token": csrf, "due_date": "1 March", "priority": "3"},
    )
    assert bad.status_code == 422
    assert "The due date '1 March' is not a date; pick one, or write it like 2027-03-01." in (
        _text(bad)
    )
    planned = line_client.post(
        "/supervisor/work-orders/WO00001/plan",
        data={"csrf_token": csrf, "due_date": "2027-02-20", "priority": "1", "reason": "rush"},
    )
    assert planned.status_code == 303
    assert "Work order WO00001 released." in _text(line_client.get("/supervisor/"))
    closed = line_client.post(
        "/supervisor/work-orders/WO00001/close", data={"csrf_token": csrf, "reason": "enough"}
    )
    assert closed.status_code == 303
    assert "Work order WO00001 closed: enough." in _text(line_client.get("/supervisor/"))
    line_client.post(
        "/supervisor/work-orders",
        data={"csrf_token": csrf, "product": "HA-100", "quantity": "1", "number": "WO-X"},
    )
    unexplained = line_client.post(
        "/supervisor/work-orders/WO-X/cancel", data={"csrf_token": csrf, "reason": ""}
    )
    assert unexplained.status_code == 422
    assert "Give a reason to cancel the work order." in _text(unexplained)
    cancelled = line_client.post(
        "/supervisor/work-orders/WO-X/cancel", data={"csrf_token": csrf, "reason": "duplicate"}
    )
    assert cancelled.status_code == 303
    assert "Work order WO-X cancelled: duplicate." in _text(line_client.get("/supervisor/"))
    assert AuditTrail(db).verify().ok
