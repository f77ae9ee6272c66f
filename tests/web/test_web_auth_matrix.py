"""Every API endpoint × every role, from one table: who may call it (anyone else gets 403, and a
caller without credentials 401). The table must list every route the API declares."""

from __future__ import annotations

from typing import Any

import pytest
from testdata import PASSWORD
from web_support import Api

from dsl.model import Plant
from web.openapi import OPERATIONS

ANY = frozenset({"operator", "supervisor", "quality", "engineer", "admin", "none"})
# one user per role ("nobody" holds no role: a signed-in user with no permissions)
USER_OF = {
    "operator": "anna",
    "supervisor": "sam",
    "quality": "quinn",
    "engineer": "eve",
    "admin": "ada",
    "none": "nobody",
}
SIGNED = {"password": PASSWORD, "meaning": "Reviewed"}
BUNDLE: dict[str, Any] = {"files": {"site.yaml": "site: x\n"}}

# method, path, body, roles allowed
MATRIX: list[tuple[str, str, Any, frozenset[str]]] = [
    ("GET", "/api/me", None, ANY),
    ("GET", "/api/tokens", None, frozenset({"admin"})),
    (
        "POST",
        "/api/tokens",
        {"name": "t", "username": "ada", "roles": ["admin"]},
        frozenset({"admin"}),
    ),
    ("DELETE", "/api/tokens/9999", None, frozenset({"admin"})),
    ("GET", "/api/work-orders", None, ANY),
    (
        "POST",
        "/api/work-orders",
        {"product": "HA-100", "quantity": 1},
        frozenset({"supervisor", "admin"}),
    ),
    ("GET", "/api/work-orders/WO-X", None, ANY),
    ("POST", "/api/work-orders/WO-X/release", None, frozenset({"supervisor", "admin"})),
    ("POST", "/api/work-orders/WO-X/cancel", {"reason": "r"}, frozenset({"supervisor", "admin"})),
    ("POST", "/api/work-orders/WO-X/complete", None, frozenset({"supervisor", "admin"})),
    ("POST", "/api/items/U-X/operations/cut/start", None, frozenset({"operator", "supervisor"})),
    ("POST", "/api/items/U-X/operations/cut/complete", {}, frozenset({"operator", "supervisor"})),
    ("POST", "/api/items/U-X/hold", {"reason": "r"}, frozenset({"supervisor", "quality"})),
    ("POST", "/api/items/U-X/release", {"reason": "r"}, frozenset({"supervisor", "quality"})),
    ("GET", "/api/items/U-X", None, ANY),
    ("GET", "/api/items/U-X/history", None, ANY),
    ("GET", "/api/items/U-X/genealogy", None, ANY),
    ("GET", "/api/lots/TERM-22/T-001/where-used", None, ANY),
    ("GET", "/api/wip", None, ANY),
    ("GET", "/api/nonconformances", None, ANY),
    (
        "POST",
        "/api/nonconformances",
        {"item": "U-X", "defect_code": "D", "description": "d"},
        frozenset({"operator", "supervisor", "quality"}),
    ),
    ("GET", "/api/nonconformances/9999", None, ANY),
    (
        "POST",
        "/api/nonconformances/9999/disposition",
        {"decision": "scrap", "reason": "r", "signature": SIGNED},
        frozenset({"quality"}),
    ),
    ("GET", "/api/config/versions", None, frozenset({"engineer", "admin"})),
    ("POST", "/api/config/validate", BUNDLE, frozenset({"engineer", "admin"})),
    ("POST", "/api/config/versions", BUNDLE, frozenset({"engineer", "admin"})),
    (
        "POST",
        "/api/config/versions/9999/rollback",
        {"reason": "r"},
        frozenset({"engineer", "admin"}),
    ),
    ("GET", "/api/devices", None, ANY),
]


def _route(method: str, path: str, api: Api) -> str:
    rule, _ = api.app.url_map.bind("localhost").match(path, method=method, return_rule=True)
    return f"{method} {rule.rule}"


def test_the_matrix_lists_every_api_route(api: Api) -> None:
    declared = {f"{op.method.upper()} {op.rule}" for op in OPERATIONS}
    listed = {_route(method, path, api) for method, path, _, _ in MATRIX}
    assert listed == declared


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_every_role_gets_exactly_what_the_matrix_allows(api: Api, shop: Plant) -> None:
    wrong = []
    for method, path, body, allowed in MATRIX:
        anonymous = api.call(method, path, None, json=body)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {path} without credentials: {anonymous.status_code}")
        for role, user in USER_OF.items():
            status = api.call(method, path, user, json=body).status_code
            if (status == 403) == (role in allowed) or status == 401:
                wrong.append(f"{method} {path} as {role}: {status}")
    assert wrong == []


def test_the_openapi_document_states_each_routes_roles(api: Api) -> None:
    document = api.client.get("/api/openapi.json").json
    assert document is not None
    operation = document["paths"]["/api/nonconformances/{nc_id}/disposition"]["post"]
    assert operation["description"] == "Roles: quality."
