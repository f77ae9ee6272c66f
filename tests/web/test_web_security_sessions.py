"""Sessions end on the server, e-signatures share the sign-in throttle, tokens cannot act as
someone else beyond their maker's roles, and the password policy comes from the engine."""

from __future__ import annotations

from flask.testing import FlaskClient
from pages_support import CRIMP_FORM, CUT_FORM, form_token, release_unit
from testdata import PASSWORD
from web_support import Api, csrf_of, sign_in

from dsl.model import Plant
from engine.access import people
from engine.infra import audit
from engine.infra.db import Database

ENDED = {
    "error": "unauthenticated",
    "message": "Your session was ended (a sign-out, or a change to your password, roles or "
    "account); sign in again.",
}
NEW_PASSWORD = "tangerine lathe quarry 42"


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("ferrule_session")
    assert cookie is not None
    return cookie.value


def test_a_saved_cookie_is_refused_after_sign_out(client: FlaskClient, users: object) -> None:
    csrf = sign_in(client, "anna")
    saved = _cookie(client)
    other = client.application.test_client()
    sign_in(other, "anna")  # the same person on another tablet
    assert client.post("/signout", data={"csrf_token": csrf}).status_code == 303
    client.set_cookie("ferrule_session", saved)
    replayed = client.get("/api/me")
    assert (replayed.status_code, replayed.json) == (401, ENDED)
    assert other.get("/api/me").json == ENDED  # every session of anna ended


def test_a_deactivated_user_loses_even_read_access_at_once(
    client: FlaskClient, users: object, db: Database, api: Api
) -> None:
    sign_in(client, "sam")
    token = api.token("sam")
    assert client.get("/api/work-orders").status_code == 200
    with db.transaction() as session:
        people.deactivate_user(session, "sam", actor="ada", reason="left the company")
    ended = client.get("/api/work-orders")
    assert (ended.status_code, ended.json) == (401, ENDED)
    refused = client.get("/api/work-orders", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json == {
        "error": "unauthenticated",
        "message": "The API token is unknown, revoked or expired; ask an admin for a new one.",
    }


def test_a_password_or_role_change_ends_the_session(
    client: FlaskClient, users: object, db: Database
) -> None:
    sign_in(client, "omar")
    with db.transaction() as session:
        people.set_password(session, "omar", NEW_PASSWORD, actor="ada")
    assert client.get("/api/me").json == ENDED
    sign_in(client, "omar", NEW_PASSWORD)
    with db.transaction() as session:
        people.revoke_role(session, "omar", "supervisor", actor="ada", reason="moved")
    assert client.get("/api/me").json == ENDED
    sign_in(client, "omar", NEW_PASSWORD)
    assert client.get("/api/me").json == {
        "username": "omar",
        "roles": ["operator"],
        "via": "session",
    }


# ---------------------------------------------------------------- e-signatures


WRONG = (
    "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
    "username and password."
)
THROTTLED = (
    "Too many failed sign-ins for quinn; wait 5 minutes and try again, or ask an admin to reset "
    "the password."
)


def _to_test(api: Api) -> str:
    order = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": 1}).json
    (unit,) = api.post(f"/api/work-orders/{order['number']}/release", "sam").json["items"]
    for operation, data, part, lot in (
        ("cut", {"length": 500, "strip_length": 7}, "WIRE-18-RD", "W-001"),
        ("crimp", {"pull_force": 80, "crimp_height": 1.55, "visual": "ok"}, "TERM-22", "T-001"),
    ):
        body = {"data": data, "consume": [{"part": part, "lot": lot}]}
        assert (
            api.post(f"/api/items/{unit}/operations/{operation}/start", "anna").status_code == 200
        )
        done = api.post(f"/api/items/{unit}/operations/{operation}/complete", "anna", body)
        assert done.status_code == 200, done.json
    assert api.post(f"/api/items/{unit}/operations/test/start", "anna").status_code == 200
    return str(unit)


def _sign_test(api: Api, unit: str, password: str) -> object:
    body = {
        "consume": [{"part": "HOUSING-4P", "lot": "H-001"}],
        "signatures": [
            {"username": "quinn", "password": password, "meaning": "Reviewed and approved"}
        ],
    }
    return api.post(f"/api/items/{unit}/operations/test/complete", "anna", body)


def test_signature_guesses_share_the_sign_in_throttle(
    api: Api, shop: Plant, client: FlaskClient, db: Database
) -> None:
    unit = _to_test(api)
    for attempt in range(1, 6):
        refused = _sign_test(api, unit, f"guess {attempt}")
        assert (attempt, refused.status_code, refused.json["message"]) == (attempt, 403, WRONG)  # type: ignore[attr-defined]
    throttled = _sign_test(api, unit, PASSWORD)
    assert (throttled.status_code, throttled.json) == (  # type: ignore[attr-defined]
        429,
        {"error": "too_many_attempts", "message": THROTTLED},
    )
    form = {"username": "quinn", "password": PASSWORD, "csrf_token": csrf_of(client)}
    assert client.post("/signin", data=form).status_code == 429
    with db.session() as session:
        on_record = audit.history(session, "signature", f"{unit}/test")
    assert {(r["actor"], r["action"]) for r in on_record} == {("anna", "signature_refused")}


def test_a_throttled_signature_on_the_station_page_is_a_429(
    line_client: FlaskClient, line_app: object
) -> None:
    unit = release_unit(line_app)  # type: ignore[arg-type]
    csrf = sign_in(line_client, "anna")
    for operation, form in (("cut", CUT_FORM), ("crimp", CRIMP_FORM), ("test", None)):
        started = line_client.post(
            f"/station/{unit}/start", data={"csrf_token": csrf, "operation": operation}
        )
        assert started.status_code == 303
        if form is None:
            break
        page = line_client.get(f"/station/{unit}").get_data(as_text=True)
        data = {
            "csrf_token": csrf,
            "operation": operation,
            "revision": form_token(page, "revision"),
        }
        assert (
            line_client.post(f"/station/{unit}/complete", data={**data, **form}).status_code == 303
        )
    statuses = []
    for _ in range(6):
        page = line_client.get(f"/station/{unit}").get_data(as_text=True)
        data = {
            "csrf_token": csrf,
            "operation": "test",
            "revision": form_token(page, "revision"),
            "consume-HOUSING-4P-0": "H-001",
            "sign-0-username": "quinn",
            "sign-0-password": "guess",
        }
        statuses.append(line_client.post(f"/station/{unit}/complete", data=data).status_code)
    assert statuses == [403] * 5 + [429]


# ---------------------------------------------------------------- tokens and passwords


def test_an_admin_cannot_mint_a_token_acting_as_someone_else(api: Api, users: object) -> None:
    refused = api.post(
        "/api/tokens", "ada", {"name": "erp", "username": "sam", "roles": ["supervisor"]}
    )
    assert (refused.status_code, refused.json) == (
        422,
        {
            "error": "invalid",
            "message": "ada does not hold the role supervisor; a token for someone else can only "
            "use roles its maker holds too. Leave the role out, or let someone who holds it "
            "make the token.",
            "field": "roles",
        },
    )
    own = api.post("/api/tokens", "ada", {"name": "script", "username": "ada", "roles": ["admin"]})
    assert own.status_code == 201


def test_the_users_page_states_the_engines_password_policy(line_client: FlaskClient) -> None:
    csrf = sign_in(line_client, "ada")
    page = line_client.get("/admin/users").get_data(as_text=True)
    assert 'minlength="12"' in page
    assert (
        "At least 12 characters, and not a common password, a name, a date or a keyboard pattern."
        in page
    )
    weak = line_client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "otto", "password": "password1234"},
    )
    assert weak.status_code == 422
    assert "The password is too easy to guess: This is a very common password." in weak.get_data(
        as_text=True
    )
