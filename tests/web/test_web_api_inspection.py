"""The AQL inspection API: quality starts the inspection of a received lot of terminals, records
its samples, and reads it back with the switching state of the part and supplier; a request
naming neither a received lot nor a work order's operation is refused with what to send."""

from __future__ import annotations

from web_support import Api

from dsl.model import Plant


def test_quality_inspects_a_received_lot_over_the_api(api: Api, shop: Plant) -> None:
    received = {"part": "TERM-22", "supplier_lot": "T-API", "quantity": 90, "supplier": "Kontakt"}
    assert api.post("/api/lots", "sam", received).status_code == 201
    started = api.post("/api/inspections", "quinn", {"part": "TERM-22", "lot": "T-API"})
    assert started.status_code == 201
    body = started.get_json()
    assert (body["plan"], body["accepted"]) == (
        "normal, level II, AQL 1.0, code E: n = 13, Ac 0, Re 1",
        None,
    )
    sample = f"/api/inspections/{body['id']}/samples"
    rejected = api.post(sample, "quinn", {"conforming": False, "defect_code": "PLATING"})
    assert (rejected.status_code, rejected.get_json()["accepted"]) == (201, False)
    read = api.get(f"/api/inspections/{body['id']}", "sam").get_json()
    assert [(s["number"], s["conforming"], s["defect_code"]) for s in read["samples"]] == [
        (1, False, "PLATING")
    ]
    listed = api.get("/api/inspections?part=TERM-22&supplier=Kontakt", "sam").get_json()
    assert [i["lot"] for i in listed["inspections"]] == ["T-API"]
    assert (listed["state"]["severity"], listed["state"]["lots"]) == ("normal", 1)
    again = api.post(sample, "quinn", {"conforming": True})
    assert (again.status_code, again.get_json()["message"]) == (
        409,
        f"Inspection {body['id']} of lot 'T-API' is already decided: the lot was rejected; no "
        "more samples are taken.",
    )


def test_a_start_naming_no_lot_says_what_to_send(api: Api, shop: Plant) -> None:
    for body in ({}, {"part": "TERM-22", "operation": "crimp"}, {"work_order": "WO-1"}):
        refused = api.post("/api/inspections", "quinn", body)
        assert (refused.status_code, refused.get_json()["message"]) == (
            422,
            "Name either a received lot (part and lot) or a work order and its operation.",
        )
    no_gate = api.post("/api/inspections", "quinn", {"work_order": "WO-404", "operation": "crimp"})
    assert (no_gate.status_code, no_gate.get_json()["message"]) == (
        404,
        "There is no work order 'WO-404'; check the number.",
    )
    unnamed = api.get("/api/inspections", "sam")
    assert (unnamed.status_code, unnamed.get_json()["message"]) == (
        422,
        "Name the part: /api/inspections?part=TERM-22.",
    )
