"""The OpenAPI document: valid OpenAPI 3.1, one entry per route, and request validation that
names the field. (Responses are checked against it in every API test: see web_support.Api.)"""

from __future__ import annotations

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from test_web_api_flow import released_unit
from web_support import Api

from dsl.model import Plant
from web.openapi import OPERATIONS


def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    document = api.client.get("/api/openapi.json").json
    assert document is not None
    validate(document)  # raises with the offending path when invalid
    assert document["openapi"] == "3.1.0"
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_route_is_documented_once(api: Api) -> None:
    document = api.document
    documented = {(p, m) for p, ops in document["paths"].items() for m in ops}
    declared = {(op.path, op.method) for op in OPERATIONS}
    assert documented == declared
    assert len(OPERATIONS) == len(declared)
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    commands = document["paths"]["/api/work-orders"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= commands[0].items()


def test_a_missing_field_is_named(api: Api, shop: Plant) -> None:
    response = api.post("/api/work-orders", "sam", {"product": "HA-100"})
    assert response.status_code == 400
    assert response.json == {
        "error": "bad_request",
        "message": "quantity: this field is required.",
        "field": "quantity",
    }


def test_a_misspelt_field_gets_a_suggestion(api: Api, shop: Plant) -> None:
    response = api.post(
        "/api/work-orders", "sam", {"product": "HA-100", "quantity": 1, "numbr": "x"}
    )
    assert response.status_code == 400
    assert response.json == {
        "error": "bad_request",
        "message": "numbr: unknown field; did you mean 'number'?",
        "field": "numbr",
    }


def test_a_wrong_type_names_the_nested_field(api: Api, shop: Plant) -> None:
    body = {"consume": [{"part": "TERM-22", "lot": "T-001", "quantity": "two"}]}
    response = api.post("/api/items/U-1/operations/crimp/complete", "anna", body)
    assert response.status_code == 400
    assert response.json == {
        "error": "bad_request",
        "message": "consume.0.quantity: expected a number, got 'two'.",
        "field": "consume.0.quantity",
    }


def test_a_body_that_is_not_json_is_refused(api: Api, shop: Plant) -> None:
    response = api.call(
        "POST", "/api/work-orders", "sam", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["message"] == (
        "The request body is not valid JSON; check quotes, commas and brackets."
    )


def test_engine_errors_keep_their_message_and_status(api: Api, shop: Plant) -> None:
    unknown = api.post("/api/work-orders", "sam", {"product": "HA-999", "quantity": 1})
    assert unknown.status_code == 404
    assert unknown.json == {
        "error": "not_found",
        "message": "The plant makes no product 'HA-999'; it makes HA-100",
    }
    unit = released_unit(api)
    assert api.post(f"/api/items/{unit}/operations/cut/start", "anna").status_code == 200
    body = {"data": {"length": 600, "strip_length": 7}}
    invalid = api.post(f"/api/items/{unit}/operations/cut/complete", "anna", body)
    assert invalid.status_code == 422
    assert invalid.json["field"] == "length"
    assert invalid.json["message"] == "length: 600 mm is above the maximum 510 mm"


def test_an_unknown_api_path_is_a_json_404(api: Api) -> None:
    response = api.client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json == {
        "error": "not_found",
        "message": "There is no page at /api/nothing-here; check the address.",
    }
