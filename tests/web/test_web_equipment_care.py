"""The equipment-care API and pages: signed calibrations and maintenance, a failed calibration's
impact list and its hold, a bulk hold of a pasted list."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from pages_support import release_unit
from web_support import Api, alerts_of, sign_in

from engine.commands.bom import ConsumptionInput
from engine.facade.audit import AuditTrail
from engine.infra.db import Database

PRESS = "crimp-press-1"
SIGNED = {"password": "correct horse battery", "meaning": "Performed and verified"}


def crimped(app: Flask) -> str:
    """A unit cut and crimped (on crimp-press-1), waiting at 'test'."""
    ferrule = app.extensions["ferrule"].ferrule
    unit = release_unit(app)
    for operation, data, part, lot in (
        ("cut", {"length": 500.0, "strip_length": 7.0}, "WIRE-18-RD", "W-001"),
        ("crimp", {"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"}, "TERM-22", "T-001"),
    ):
        ferrule.start_operation(actor="anna", item=unit, operation=operation)
        ferrule.complete_operation(
            actor="anna", item=unit, operation=operation, data=data,
            consume=[ConsumptionInput(part, lot)],
        )  # fmt: skip
    return unit


def _failed_calibration(api: Api) -> int:
    response = api.post(
        f"/api/equipment/{PRESS}/calibrations",
        "quinn",
        {
            "result": "fail",
            "performed_on": dt.date.today().isoformat(),
            "performed_by": "Metrology lab",
            "certificate": "CAL-2026-118",
            "measured": {"force_at_5kN": 4.7},
            "note": "Force 6 % low at 5 kN",
            "signature": SIGNED,
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["result"] == "fail"
    return int(response.json["id"])


def test_a_failed_calibration_over_the_api_lists_and_holds_what_was_made(
    line_app: Flask, db: Database
) -> None:
    api = Api(line_app, db)
    units = [crimped(line_app), crimped(line_app)]
    calibration_id = _failed_calibration(api)
    card = api.get(f"/api/equipment/{PRESS}", "sam").json
    assert card["status"]["state"] == "down"
    assert card["calibrations"][0]["id"] == calibration_id
    impact = api.get(f"/api/calibrations/{calibration_id}/impact?limit=1", "sam").json
    assert impact["total"] == 2
    assert [i["number"] for i in impact["items"]] == [units[1]]
    refused = api.post(f"/api/calibrations/{calibration_id}/hold-impact", "anna", {"reason": "x"})
    assert refused.status_code == 403
    held = api.post(
        f"/api/calibrations/{calibration_id}/hold-impact", "sam", {"reason": "Press out of cal"}
    )
    assert held.status_code == 200
    assert held.json == {"held": units, "skipped": [], "remaining": 0}
    listed = api.get("/api/equipment", "quinn").json
    assert [e["state"] for e in listed["equipment"] if e["name"] == PRESS] == ["down"]
    assert [(d["equipment"], d["kind"], d["overdue"]) for d in listed["due"]] == [
        (PRESS, "calibration", True)
    ]
    assert AuditTrail(db).verify().ok


def test_calibration_and_maintenance_requests_are_checked(line_app: Flask, db: Database) -> None:
    api = Api(line_app, db)
    path = f"/api/equipment/{PRESS}/calibrations"
    body = {
        "result": "pass",
        "performed_on": dt.date.today().isoformat(),
        "performed_by": "Metrology lab",
        "signature": SIGNED,
    }
    missing = api.post(path, "quinn", body)
    assert missing.status_code == 422
    assert missing.json["message"] == (
        "Give the calibration certificate's reference or attach its file."
    )
    meaning = api.post(path, "quinn", {**body, "signature": {**SIGNED, "meaning": "ok"}})
    assert meaning.status_code == 400
    assert meaning.json["message"] == (
        "signature.meaning: 'ok' is not one of 'Performed and verified', 'Reviewed and approved'."
    )
    not_a_day = api.post(path, "quinn", {**body, "certificate": "C-1", "performed_on": "yesterday"})
    assert not_a_day.status_code == 400
    assert not_a_day.json["message"] == (
        "performed_on: 'yesterday' is not a date; write it like 2027-03-01."
    )
    operator = api.post(path, "anna", {**body, "certificate": "C-1"})
    assert operator.status_code == 403
    passed = api.post(path, "quinn", {**body, "certificate": "C-1"})
    assert passed.status_code == 201
    assert passed.json["next_due"] == (dt.date.today() + dt.timedelta(days=180)).isoformat()
    maintained = api.post(
        f"/api/equipment/{PRESS}/maintenance",
        "quinn",
        {
            "performed_on": dt.date.today().isoformat(),
            "performed_by": "Max",
            "work_done": "Die replaced",
            "signature": SIGNED,
        },
    )
    assert maintained.status_code == 201
    assert maintained.json["next_due"] == (dt.date.today() + dt.timedelta(days=90)).isoformat()
    unknown = api.post("/api/items/hold", "sam", {"items": ["HA-NOPE"], "reason": "Recall R-1"})
    assert unknown.status_code == 404
    assert unknown.json["message"] == (
        "No unit or lot is numbered HA-NOPE; check the list and hold again. Nothing was held."
    )


def test_the_pages_record_a_failed_calibration_and_hold_its_impact(
    line_app: Flask, line_client: FlaskClient, db: Database
) -> None:
    unit, other = crimped(line_app), crimped(line_app)
    token = sign_in(line_client, "quinn")
    page = line_client.get(f"/equipment/{PRESS}")
    assert page.status_code == 200
    assert "Record a calibration" in page.get_data(as_text=True)
    form = {
        "csrf_token": token,
        "result": "fail",
        "performed_on": dt.date.today().isoformat(),
        "performed_by": "Metrology lab",
        "certificate": "CAL-7",
        "measured_name_0": "force",
        "measured_value_0": "4.7",
        "note": "",
        "meaning": "Performed and verified",
        "password": "correct horse battery",
    }
    refused = line_client.post(f"/equipment/{PRESS}/calibration", data=form)
    assert refused.status_code == 422
    assert alerts_of(refused) == [
        "A failed calibration needs a note saying what was out of tolerance."
    ]
    recorded = line_client.post(
        f"/equipment/{PRESS}/calibration", data={**form, "note": "Force low"}
    )
    assert recorded.status_code == 303
    impact = line_client.get(recorded.headers["Location"])
    text = impact.get_data(as_text=True)
    assert f'data-item="{unit}"' in text
    assert f'data-item="{other}"' in text
    assert "is down" in text
    held = line_client.post(
        recorded.headers["Location"].replace("/impact", "/hold"),
        data={"csrf_token": token, "reason": "Press failed calibration"},
    )
    assert held.status_code == 303
    assert "2 units and lots put on hold." in line_client.get(held.headers["Location"]).get_data(
        as_text=True
    )
    sam = line_app.test_client()
    sam_token = sign_in(sam, "sam")
    fresh = release_unit(line_app)
    listed = sam.post(
        "/equipment/hold-list",
        data={"csrf_token": sam_token, "items": f"{fresh}, {unit}\n", "reason": "Recall R-2"},
    )
    assert listed.status_code == 303
    notice = sam.get(listed.headers["Location"]).get_data(as_text=True)
    assert "1 units and lots put on hold; 1 skipped (first: Unit" in notice
    operator = line_app.test_client()
    sign_in(operator, "anna")
    assert operator.get("/equipment/").status_code == 403
