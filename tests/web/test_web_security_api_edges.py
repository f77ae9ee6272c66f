"""Edge values at the API's door answer with the API's JSON error, never a 500: lone surrogates,
ids too long for the database, NaN and Infinity, deep nesting, very long addresses, a wrong method
(with ``Allow``), and a signature meaning the engine does not know."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from testdata import PASSWORD
from web_support import Api

from dsl.model import Plant


def _raw(api: Api, path: str, body: str, user: str = "sam") -> Any:
    return api.client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token(user)}"},
    )


def _bad(message: str, field: str | None = None) -> dict[str, str]:
    body = {"error": "bad_request", "message": message}
    return body if field is None else {**body, "field": field}


def test_a_lone_surrogate_is_a_400_naming_the_field(api: Api, shop: Plant) -> None:
    answer = _raw(
        api, "/api/work-orders", '{"product": "HA-100", "quantity": 1, "number": "WO-\\ud800"}'
    )
    assert (answer.status_code, answer.json) == (
        400,
        _bad(
            "number: the text holds a lone surrogate (U+D800); send valid Unicode text.", "number"
        ),
    )


def test_ids_too_long_for_the_database_are_not_found(api: Api, shop: Plant) -> None:
    thirty = "1" * 30
    for method, path in (
        ("GET", f"/api/nonconformances/{thirty}"),
        ("DELETE", f"/api/tokens/{thirty}"),
        ("POST", f"/api/config/versions/{thirty}/rollback"),
    ):
        user = "ada" if "tokens" in path or "config" in path else "quinn"
        answer = api.client.open(
            path,
            method=method,
            json={"reason": "x"} if method == "POST" else None,
            headers={"Authorization": f"Bearer {api.token(user)}"},
        )
        assert (answer.status_code, answer.json) == (
            404,
            {
                "error": "not_found",
                "message": f"There is no page at {path}; check the address.",
            },
        ), path


def test_nan_and_infinity_are_refused(api: Api, shop: Plant) -> None:
    message = (
        "The request body holds a number that is not finite (NaN, Infinity or beyond 1.8e308); "
        "send finite numbers."
    )
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        answer = _raw(api, "/api/work-orders", f'{{"product": "HA-100", "quantity": {number}}}')
        assert (answer.status_code, answer.json) == (400, _bad(message)), number


def test_deeply_nested_json_is_a_400(api: Api, shop: Plant) -> None:
    deep = '{"product": "HA-100", "quantity": 1, "number": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = _raw(api, "/api/work-orders", deep)
    assert (answer.status_code, answer.json) == (
        400,
        _bad("The request body nests deeper than 32 levels; send a flatter body."),
    )


def test_integers_beyond_the_databases_range_are_refused(api: Api, shop: Plant) -> None:
    body = {"data": {}, "expected_revision": 10**30}
    answer = api.post("/api/items/HA-1/operations/cut/complete", "anna", body)
    assert (answer.status_code, answer.json) == (
        400,
        _bad(
            "expected_revision: 1000000000000000000000000000000 is above the maximum 2147483647.",
            "expected_revision",
        ),
    )


def test_a_very_long_address_gets_the_apis_json_error(client: FlaskClient, users: object) -> None:
    path = "/api/items/" + "x" * 5000
    answer = client.get(path)
    assert (answer.status_code, answer.json) == (
        414,
        {
            "error": "uri_too_long",
            "message": f"The address is {len(path)} characters long; Ferrule takes at most 2048.",
        },
    )


def test_a_wrong_method_says_which_are_allowed(client: FlaskClient, users: object) -> None:
    answer = client.delete("/api/work-orders")
    assert (answer.status_code, answer.json) == (
        405,
        {
            "error": "method_not_allowed",
            "message": "DELETE is not allowed on /api/work-orders.",
        },
    )
    assert answer.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_a_disposition_states_one_of_the_engines_meanings(api: Api, shop: Plant) -> None:
    order = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": 1}).json
    (unit,) = api.post(f"/api/work-orders/{order['number']}/release", "sam").json["items"]
    opened = {"item": unit, "defect_code": "nicked-insulation", "description": "jacket cut"}
    nc = api.post("/api/nonconformances", "quinn", opened).json
    body = {
        "decision": "scrap",
        "reason": "cannot repair",
        "signature": {"password": PASSWORD, "meaning": "whatever I like"},
    }
    answer = api.post(f"/api/nonconformances/{nc['id']}/disposition", "quinn", body)
    assert (answer.status_code, answer.json) == (
        400,
        _bad(
            "signature.meaning: 'whatever I like' is not one of 'Disposition approved', "
            "'Reviewed and approved'.",
            "signature.meaning",
        ),
    )
