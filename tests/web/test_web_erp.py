"""The ERP API: B2MML and JSON orders in, B2MML performance and lots out; hostile XML refused.
Every answer is checked against the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from defusedxml.ElementTree import fromstring
from web_support import Api, check_against_openapi

from engine.floor.b2mml import NAMESPACE

DOCUMENTS = Path(__file__).parents[1] / "engine" / "data" / "b2mml"
NS = {"b": NAMESPACE}


def post_xml(api: Api, name: str, user: str = "sam", content_type: str = "application/xml") -> Any:
    response = api.client.post(
        "/api/erp/b2mml",
        data=(DOCUMENTS / name).read_bytes(),
        headers={"Authorization": f"Bearer {api.token(user)}", "Content-Type": content_type},
    )
    check_against_openapi(api.app, api.document, "POST", "/api/erp/b2mml", response)
    return response


def test_a_b2mml_schedule_becomes_work_orders_and_again_changes_nothing(
    api: Api, shop: object
) -> None:
    first = post_xml(api, "schedule-two-orders.xml")
    again = post_xml(api, "schedule-two-orders.xml")

    assert first.status_code == 201
    assert [(o["erp_order"], o["status"], o["created"]) for o in first.json["orders"]] == [
        ("1000045", "released", True),
        ("1000046", "released", True),
    ]
    assert again.status_code == 200
    assert [o["work_order"] for o in again.json["orders"]] == [
        o["work_order"] for o in first.json["orders"]
    ]
    number = first.json["orders"][0]["work_order"]
    assert api.get(f"/api/work-orders/{number}", "sam").json["erp_reference"] == "1000045"


def test_a_bad_document_answers_422_with_every_problem(api: Api, shop: object) -> None:
    response = post_xml(api, "schedule-with-mistakes.xml")

    assert response.status_code == 422
    assert response.json["error"] == "document_refused"
    assert len(response.json["problems"]) == 5
    first = response.json["problems"][0]["message"]
    assert first.startswith("line 24: ProductionRequest 2000003's EndTime")


def test_billion_laughs_and_external_entities_are_refused_with_a_clear_message(
    api: Api, shop: object
) -> None:
    for name in ("billion-laughs.xml", "external-entity.xml"):
        response = post_xml(api, name)
        assert (response.status_code, response.json["problems"]) == (
            422,
            [
                {
                    "message": "It declares a DTD or entities, which are refused (they can read "
                    "files or expand without end); export it without a DOCTYPE."
                }
            ],
        )


def test_b2mml_must_be_sent_as_xml_by_a_supervisor(api: Api, shop: object) -> None:
    wrong_type = post_xml(api, "request-forecast.xml", content_type="text/plain")
    operator = post_xml(api, "request-forecast.xml", user="anna")

    assert (wrong_type.status_code, wrong_type.json["message"]) == (
        415,
        "Send the B2MML document as application/xml, not text/plain; JSON orders go to "
        "/api/erp/orders.",
    )
    assert operator.status_code == 403


def test_json_orders_are_imported_and_their_problems_listed(api: Api, shop: object) -> None:
    made = api.post(
        "/api/erp/orders",
        "sam",
        json={"id": "J-7", "orders": [{"id": "77", "material": "4711-HA100", "quantity": 1}]},
    )
    refused = api.post(
        "/api/erp/orders", "sam", json={"orders": [{"id": "78", "material": "nope", "quantity": 0}]}
    )

    assert (made.status_code, made.json["document_id"]) == (201, "J-7")
    assert (refused.status_code, refused.json["problems"]) == (
        422,
        [{"message": "orders[0].quantity: expected a number above zero, got 0."}],
    )


def test_performance_and_material_lot_are_served_as_b2mml(api: Api, shop: object) -> None:
    number = post_xml(api, "schedule-two-orders.xml").json["orders"][1]["work_order"]

    performance = api.get(f"/api/erp/performance/{number}.xml", "sam")
    lot = api.get("/api/erp/lots/W-001.xml", "sam")
    missing = api.get("/api/erp/lots/W-404.xml", "sam")

    assert (performance.status_code, performance.mimetype) == (200, "application/xml")
    root = fromstring(performance.data)
    assert [e.text for e in root.findall("b:ProductionResponse/b:ProductionRequestID", NS)] == [
        "1000046"
    ]
    assert fromstring(lot.data).findtext("b:MaterialDefinitionID", namespaces=NS) == "4711-W18RD"
    assert (missing.status_code, missing.json["message"]) == (404, "There is no lot 'W-404'.")
    assert api.get(f"/api/erp/performance/{number}.xml", "anna").status_code == 403
