"""Every API endpoint × every role, from one table, on real records: a caller without credentials
gets 401, a role the route does not allow gets 403 with the API's message and changes nothing,
and every allowed role runs the handler on a real work order, unit, lot, nonconformance, token or
config version and gets the route's success status. No call may answer 5xx. The table must list
every route the API declares."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from testdata import ACME, PASSWORD
from web_support import USERS, Api, table_rows

from dsl.model import Plant
from engine.access import people
from web.openapi import OPERATIONS

# the roles in the order they call; "none" is a signed-in user holding no role
ROLES = ("operator", "supervisor", "quality", "engineer", "admin", "none")
ANY = frozenset(ROLES)
USER_OF = {
    "operator": "anna",
    "supervisor": "sam",
    "quality": "quinn",
    "engineer": "eve",
    "admin": "ada",
    "none": "nobody",
}
PLANNERS = frozenset({"supervisor", "admin"})
RUNNERS = frozenset({"operator", "supervisor"})
HOLDERS = frozenset({"supervisor", "quality"})
CONFIGURERS = frozenset({"engineer", "admin"})
# the audit trail: quality, admin, and a site's own "auditor" role (no user of the matrix holds it)
AUDITORS = frozenset({"quality", "admin", "auditor"})

UNAUTHENTICATED = {
    "error": "unauthenticated",
    "message": "Sign in first (API clients: send 'Authorization: Bearer <token>').",
}
CUT = {
    "data": {"length": 500, "strip_length": 7},
    "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
}
SIGNED = {"password": PASSWORD, "meaning": "Disposition approved"}


def forbidden(allowed: frozenset[str], role: str) -> dict[str, str]:
    """The 403 body for ``role``'s user calling a route that needs one of ``allowed``."""
    user = USER_OF[role]
    held = ", ".join(sorted(USERS[user])) or "no role"
    needed = " or ".join(sorted(allowed))
    return {
        "error": "forbidden",
        "message": (
            f"This needs the role {needed}; {user} has {held}. Ask an admin to grant the role."
        ),
    }


def _deploy_body(role: str) -> dict[str, Any]:
    """The acme-harness bundle with a comment naming ``role``: a new version per caller."""
    files = {
        p.relative_to(ACME).as_posix(): p.read_text()
        for p in ACME.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".md") and "tests" not in p.parts
    }
    files["site.yaml"] += f"\n# deployed by {role}\n"
    assets = {
        p.relative_to(ACME).as_posix(): base64.b64encode(p.read_bytes()).decode()
        for p in ACME.rglob("*.svg")
    }
    return {"files": files, "assets": assets, "note": f"by {role}"}


@dataclass(frozen=True)
class Case:
    """One route: ``path`` and string values of ``body`` name records as ``{placeholders}``
    (see :class:`World`); an allowed role gets ``status`` and an answer with the fields ``shows``
    (a list answer: one of its elements has them)."""

    method: str
    path: str
    allowed: frozenset[str]
    status: int
    body: Any = None
    shows: Mapping[str, object] = field(default_factory=dict)


MATRIX: list[Case] = [
    Case("GET", "/api/me", ANY, 200, shows={"username": "{user}"}),
    Case("GET", "/api/tokens", frozenset({"admin"}), 200, shows={"id": "{token}"}),
    Case(
        "POST",
        "/api/tokens",
        frozenset({"admin"}),
        201,
        {"name": "script", "username": "{user}", "roles": ["admin"]},
    ),
    Case(
        "DELETE",
        "/api/tokens/{token}",
        frozenset({"admin"}),
        200,
        shows={"id": "{token}", "username": "ada"},
    ),
    Case("GET", "/api/work-orders", ANY, 200, shows={"number": "{order}"}),
    Case(
        "POST",
        "/api/work-orders",
        PLANNERS,
        201,
        {"product": "HA-100", "quantity": 1},
        shows={"product": "HA-100", "status": "created", "created_by": "{user}"},
    ),
    Case(
        "GET",
        "/api/work-orders/{order}",
        ANY,
        200,
        shows={"number": "{order}", "status": "released"},
    ),
    Case(
        "POST",
        "/api/work-orders/{created}/release",
        PLANNERS,
        200,
        shows={"number": "{created}", "status": "released"},
    ),
    Case(
        "POST",
        "/api/work-orders/{cancellable}/cancel",
        PLANNERS,
        200,
        {"reason": "customer withdrew"},
        shows={"number": "{cancellable}", "status": "cancelled"},
    ),
    Case(
        "POST",
        "/api/work-orders/{finished}/complete",
        PLANNERS,
        200,
        shows={"number": "{finished}", "status": "completed"},
    ),
    Case(
        "POST",
        "/api/items/{queued_at_cut}/operations/cut/start",
        RUNNERS,
        200,
        shows={"item": "{queued_at_cut}", "operation": "cut", "allowed": True},
    ),
    Case(
        "POST",
        "/api/items/{started}/operations/cut/complete",
        RUNNERS,
        200,
        CUT,
        shows={"item": "{started}", "operation": "cut", "next_operation": "crimp"},
    ),
    Case(
        "POST",
        "/api/items/{holdable}/hold",
        HOLDERS,
        200,
        {"reason": "suspect wire batch"},
        shows={"item": "{holdable}", "status": "on_hold"},
    ),
    Case(
        "POST",
        "/api/items/{held}/release",
        HOLDERS,
        200,
        {"reason": "batch cleared"},
        shows={"item": "{held}", "status": "queued"},
    ),
    Case(
        "GET",
        "/api/items/{traced}",
        ANY,
        200,
        shows={"number": "{traced}", "current_operation": "crimp"},
    ),
    Case(
        "GET",
        "/api/items/{traced}/history",
        ANY,
        200,
        shows={"kind": "complete", "operation": "cut", "actor": "anna"},
    ),
    Case("GET", "/api/items/{traced}/genealogy", ANY, 200, shows={"root": "{traced}"}),
    Case("GET", "/api/lots/{part}/{lot}/where-used", ANY, 200, shows={"number": "{traced}"}),
    Case("GET", "/api/wip", ANY, 200, shows={"work_order": "{order}", "operation": "crimp"}),
    Case("GET", "/api/nonconformances", ANY, 200, shows={"id": "{nc}"}),
    Case(
        "POST",
        "/api/nonconformances",
        frozenset({"operator", "supervisor", "quality"}),
        201,
        {"item": "{suspect}", "defect_code": "D-12", "description": "insulation nicked"},
        shows={"item": "{suspect}"},
    ),
    Case("GET", "/api/nonconformances/{nc}", ANY, 200, shows={"id": "{nc}"}),
    Case(
        "POST",
        "/api/nonconformances/{nc}/disposition",
        frozenset({"quality"}),
        200,
        {"decision": "scrap", "reason": "cannot repair", "signature": SIGNED},
        shows={"id": "{nc}", "decision": "scrap", "decided_by": "quinn"},
    ),
    Case("GET", "/api/config/versions", CONFIGURERS, 200, shows={"id": "{active}"}),
    Case(
        "POST",
        "/api/config/validate",
        CONFIGURERS,
        200,
        {"files": {"site.yaml": "site: x\n"}},
        shows={"ok": False},
    ),
    Case(
        "POST",
        "/api/config/review",
        CONFIGURERS,
        200,
        {"files": {"site.yaml": "site: x\n"}},
        shows={"ok": False, "active_version": "{active}"},
    ),
    Case("POST", "/api/config/versions", CONFIGURERS, 201, _deploy_body, shows={"created": True}),
    Case(
        "POST",
        "/api/config/versions/{older}/rollback",
        CONFIGURERS,
        200,
        {"reason": "back to a known version"},
        shows={"id": "{older}", "active": True},
    ),
    Case("GET", "/api/devices", ANY, 200, shows={"name": "press1"}),
    Case("GET", "/api/audit?entity=work_order&entity_id={order}", AUDITORS, 200),
    Case("GET", "/api/audit.csv?actor=anna", AUDITORS, 200),
]


@dataclass
class World:
    """The records the calls name: ``shared`` by every role, and ``own`` records per key and
    role, so that each allowed role acts on a record still in the state its command needs. A
    role the route forbids names the records of the route's first allowed role (before that role
    has used them: a forbidden call would have succeeded had the role been allowed)."""

    shared: dict[str, str] = field(default_factory=dict)
    own: dict[str, dict[str, str]] = field(default_factory=dict)

    def fields(self, case: Case, role: str | None) -> dict[str, str]:
        """The placeholders of ``case`` for ``role`` (None: a caller without credentials)."""
        owner = role if role in case.allowed else next(r for r in ROLES if r in case.allowed)
        owned = {key: by_role[owner] for key, by_role in self.own.items() if owner in by_role}
        return {**self.shared, **owned, "user": USER_OF[role] if role else ""}


def _fill(value: Any, fields: Mapping[str, str]) -> Any:
    """``value`` with every ``{placeholder}`` in its strings replaced from ``fields``."""
    if isinstance(value, str):
        return value.format_map(fields)
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    return value


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def _order(api: Api, quantity: int, *, release: bool = True) -> tuple[str, list[str]]:
    """A work order of HA-100 created (and released) by sam: its number and items."""
    body = {"product": "HA-100", "quantity": quantity}
    number = _ok(api.post("/api/work-orders", "sam", body), 201)["number"]
    if not release:
        return number, []
    items: list[str] = _ok(api.post(f"/api/work-orders/{number}/release", "sam"))["items"]
    return number, items


def _nonconformance(api: Api, unit: str) -> int:
    opened = {"item": unit, "defect_code": "D-7", "description": "jacket cut"}
    nc_id: int = _ok(api.post("/api/nonconformances", "quinn", opened), 201)["id"]
    return nc_id


def _build_world(api: Api, plant: Plant) -> World:
    """Every record the matrix names, made through the API as the users whose work it is."""
    with api.db.transaction() as session:  # the supervisor runs operations in the matrix too
        for qualification in plant.qualifications:
            people.grant_qualification(session, "sam", qualification, actor="test", plant=plant)
    for user in USER_OF.values():
        api.token(user)  # every caller's token exists before the first snapshot
    world = World()
    order, units = _order(api, 13)
    traced, *units = units
    _ok(api.post(f"/api/items/{traced}/operations/cut/start", "anna"))
    _ok(api.post(f"/api/items/{traced}/operations/cut/complete", "anna", CUT))
    nc = _nonconformance(api, units.pop())
    world.shared.update(order=order, traced=traced, part="WIRE-18-RD", lot="W-001", nc=str(nc))

    def own(key: str, roles: frozenset[str], make: Callable[[str], str]) -> None:
        world.own[key] = {role: make(role) for role in ROLES if role in roles}

    own("queued_at_cut", RUNNERS, lambda role: units.pop())

    def started(role: str) -> str:
        unit = units.pop()
        _ok(api.post(f"/api/items/{unit}/operations/cut/start", USER_OF[role]))
        return unit

    own("started", RUNNERS, started)
    own("holdable", HOLDERS, lambda role: units.pop())

    def held(role: str) -> str:
        unit = units.pop()
        _ok(api.post(f"/api/items/{unit}/hold", "sam", {"reason": "check the crimp tool"}))
        return unit

    own("held", HOLDERS, held)
    own("suspect", frozenset({"operator", "supervisor", "quality"}), lambda role: units.pop())
    assert units == []
    own("created", PLANNERS, lambda role: _order(api, 1, release=False)[0])
    own("cancellable", PLANNERS, lambda role: _order(api, 2)[0])

    def finished(role: str) -> str:
        """A released order whose only unit was scrapped: all its items are finished."""
        number, (unit,) = _order(api, 1)
        scrap = {"decision": "scrap", "reason": "cannot repair", "signature": SIGNED}
        nc_id = _nonconformance(api, unit)
        _ok(api.post(f"/api/nonconformances/{nc_id}/disposition", "quinn", scrap))
        return number

    own("finished", PLANNERS, finished)

    def token(role: str) -> str:
        body = {"name": "line display", "username": "ada", "roles": ["admin"]}
        return str(_ok(api.post("/api/tokens", "ada", body), 201)["token"]["id"])

    own("token", frozenset({"admin"}), token)
    # version 1 is the fixture's; version 2 is deployed here; the matrix deploys two more, then
    # each configurer rolls back to one that is not active
    second = _ok(api.post("/api/config/versions", "eve", _deploy_body("setup")), 201)
    world.own["older"] = {"engineer": "1", "admin": str(second["version"]["id"])}
    world.shared["active"] = str(second["version"]["id"])
    return world


def _shows(answer: Any, expected: Mapping[str, object]) -> bool:
    """Whether the answer (or, for a list, one of its elements) has the expected fields."""
    if not expected:  # any answer of the right status (a CSV download has no JSON)
        return True
    candidates = answer if isinstance(answer, list) else [answer]
    return any(
        isinstance(c, dict) and all(str(c.get(k)) == str(v) for k, v in expected.items())
        for c in candidates
    )


def _route(method: str, path: str, api: Api) -> str:
    sample = path.format_map(defaultdict(lambda: "1")).split("?", 1)[0]
    rule, _ = api.app.url_map.bind("localhost").match(sample, method=method, return_rule=True)
    return f"{method} {rule.rule}"


def test_the_matrix_lists_every_api_route(api: Api) -> None:
    declared = {f"{op.method.upper()} {op.rule}" for op in OPERATIONS}
    listed = [_route(case.method, case.path, api) for case in MATRIX]
    assert sorted(listed) == sorted(declared)  # each route once


def test_a_forbidden_call_says_which_roles_it_needs_and_which_the_caller_has(
    api: Api, users: object
) -> None:
    refused = api.post("/api/work-orders", "anna", {"product": "HA-100", "quantity": 1})
    assert (refused.status_code, refused.json) == (
        403,
        {
            "error": "forbidden",
            "message": "This needs the role admin or supervisor; anna has operator. Ask an admin "
            "to grant the role.",
        },
    )
    assert refused.json == forbidden(PLANNERS, "operator")
    body = {"decision": "scrap", "reason": "r", "signature": SIGNED}
    refused = api.post("/api/nonconformances/1/disposition", "nobody", body)
    assert (refused.status_code, refused.json) == (
        403,
        {
            "error": "forbidden",
            "message": "This needs the role quality; nobody has no role. Ask an admin to grant "
            "the role.",
        },
    )


def test_every_role_gets_exactly_what_the_matrix_allows(api: Api, shop: Plant) -> None:
    world = _build_world(api, shop)
    wrong: list[str] = []

    def call(case: Case, role: str | None) -> Any:
        fields = world.fields(case, role)
        path = _fill(case.path, fields)
        body = case.body(role or "anonymous") if callable(case.body) else _fill(case.body, fields)
        who = role or "without credentials"
        try:
            response = api.call(case.method, path, USER_OF[role] if role else None, json=body)
        except AssertionError as undocumented:  # the answer does not fit the OpenAPI document
            wrong.append(f"{case.method} {path} as {who}: {undocumented}")
            return None, fields, path
        if response.status_code >= 500:
            wrong.append(f"{case.method} {path} as {who}: server error {response.status_code}")
        return response, fields, path

    for case in MATRIX:
        before = table_rows(api.db)
        response, _, path = call(case, None)
        if response is not None and (response.status_code, response.json) != (
            401,
            UNAUTHENTICATED,
        ):
            wrong.append(
                f"{case.method} {path} without credentials: {response.status_code} {response.json}"
            )
        for role in ROLES:
            if role in case.allowed:
                continue
            response, _, path = call(case, role)
            expected = (403, forbidden(case.allowed, role))
            if response is not None and (response.status_code, response.json) != expected:
                wrong.append(
                    f"{case.method} {path} as {role}: {response.status_code} {response.json}"
                )
        if table_rows(api.db) != before:
            wrong.append(f"{case.method} {case.path}: a refused call changed the database")
        for role in ROLES:
            if role not in case.allowed:
                continue
            response, fields, path = call(case, role)
            if response is None:
                continue
            if response.status_code != case.status:
                wrong.append(
                    f"{case.method} {path} as {role}: {response.status_code} {response.json}"
                )
            elif not _shows(response.json, _fill(dict(case.shows), fields)):
                wrong.append(f"{case.method} {path} as {role}: answered {response.json}")
    assert wrong == []


def test_the_openapi_document_states_each_routes_roles(api: Api) -> None:
    document = api.client.get("/api/openapi.json").json
    assert document is not None
    operation = document["paths"]["/api/nonconformances/{nc_id}/disposition"]["post"]
    assert operation["description"] == "Roles: quality."
