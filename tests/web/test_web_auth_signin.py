"""Sign-in, sessions with a timeout, CSRF, rate limiting and auditing of failed sign-ins."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from sqlalchemy import select
from testdata import PASSWORD
from web_support import alerts_of, csrf_of, sign_in

from engine.infra.db import Database
from engine.records.tables import AuditRecord


def _audit_actions(db: Database, actor: str) -> list[str]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditRecord.action).where(AuditRecord.actor == actor).order_by(AuditRecord.seq)
        )
        return list(rows)


def test_signin_starts_a_session_with_the_users_roles(client: FlaskClient, users: object) -> None:
    sign_in(client, "omar")
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json == {
        "username": "omar",
        "roles": ["operator", "supervisor"],
        "via": "session",
    }


def test_wrong_password_is_refused_and_audited(
    client: FlaskClient, users: object, db: Database
) -> None:
    response = client.post(
        "/signin",
        data={"username": "anna", "password": "nope", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/api/me").status_code == 401
    assert _audit_actions(db, "anna") == ["signin_failed"]


WRONG = "Wrong username or password."
THROTTLED = (
    "Too many failed sign-ins for anna; wait 5 minutes and try again, or ask an admin to reset "
    "the password."
)


def test_five_failures_lock_out_the_sixth_try_even_with_the_right_password(
    client: FlaskClient, users: object, db: Database
) -> None:
    token = csrf_of(client)
    bad = {"username": "anna", "password": "guess", "csrf_token": token}
    good = {"username": "anna", "password": PASSWORD, "csrf_token": token}
    # each of the five wrong passwords gets the sign-in form again, 401, saying why
    for attempt in range(1, 6):
        response = client.post("/signin", data=bad)
        assert (attempt, response.status_code, alerts_of(response)) == (attempt, 401, [WRONG])
        assert 'name="username" value="anna"' in response.get_data(as_text=True)
    # then every try is refused with 429 and the wait, the right password included (twice, so
    # that the refusal does not count as a success that resets the limit)
    for attempt, form in enumerate((good, bad, good), start=1):
        response = client.post("/signin", data=form)
        assert (attempt, response.status_code, alerts_of(response)) == (attempt, 429, [THROTTLED])
        assert "Location" not in response.headers
        assert client.get("/api/me").status_code == 401  # still not signed in
    as_json = client.post("/signin", data=good, headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert as_json.json == {"error": "too_many_attempts", "message": THROTTLED}
    assert client.get("/api/me").status_code == 401
    assert _audit_actions(db, "anna") == ["signin_failed"] * 5 + ["signin_refused"] * 4
    # the limit is per username and address: anna from another address, and another user from
    # this one, still sign in
    elsewhere = app_client_from(client, "192.0.2.7")
    response = elsewhere.post("/signin", data={**good, "csrf_token": csrf_of(elsewhere)})
    assert response.status_code == 303
    assert elsewhere.get("/api/me").json == {
        "username": "anna",
        "roles": ["operator"],
        "via": "session",
    }
    response = client.post("/signin", data={**good, "username": "sam"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/api/me").json == {
        "username": "sam",
        "roles": ["supervisor"],
        "via": "session",
    }


def app_client_from(client: FlaskClient, address: str) -> FlaskClient:
    """A new client of the same app whose requests come from ``address``."""
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = address
    return other


def test_a_success_resets_the_failure_count(client: FlaskClient, users: object) -> None:
    token = csrf_of(client)
    bad = {"username": "anna", "password": "x", "csrf_token": token}
    for _ in range(4):
        response = client.post("/signin", data=bad)
        assert (response.status_code, alerts_of(response)) == (401, [WRONG])
    sign_in(client, "anna")
    assert client.post("/signout", data={"csrf_token": csrf_of(client)}).status_code == 303
    assert client.get("/api/me").status_code == 401
    token = csrf_of(client)
    for _ in range(4):
        response = client.post("/signin", data={**bad, "csrf_token": token})
        assert (response.status_code, alerts_of(response)) == (401, [WRONG])
    response = client.post(
        "/signin", data={"username": "anna", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert client.get("/api/me").json == {
        "username": "anna",
        "roles": ["operator"],
        "via": "session",
    }


def test_session_times_out_after_inactivity(client: FlaskClient, users: object) -> None:
    sign_in(client, "anna")
    with client.session_transaction() as session:
        session["seen"] = time.time() - 31 * 60
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json == {
        "error": "unauthenticated",
        "message": "Your session timed out; sign in again.",
    }


def test_a_page_without_a_session_redirects_to_signin(client: FlaskClient, users: object) -> None:
    response = client.get("/api/me", headers={"Accept": "text/html"})
    assert response.status_code == 401  # API paths always answer JSON
    sign_in(client, "anna")
    response = client.post("/signout", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert client.get("/api/me").status_code == 401


def test_signin_without_csrf_token_is_refused(client: FlaskClient, users: object) -> None:
    response = client.post("/signin", data={"username": "anna", "password": PASSWORD})
    assert response.status_code == 403
    assert (
        "This form has expired or did not come from Ferrule; reload the page and try again."
        in response.get_data(as_text=True)
    )


def test_api_calls_from_a_session_need_the_csrf_header(client: FlaskClient, users: object) -> None:
    token = sign_in(client, "ada")
    body = {"name": "script", "username": "ada", "roles": ["admin"]}
    refused = client.post("/api/tokens", json=body)
    assert refused.status_code == 403
    assert refused.json is not None
    assert refused.json["message"] == (
        "This form has expired or did not come from Ferrule; reload the page and try again."
    )
    accepted = client.post("/api/tokens", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_signin_redirects_only_to_local_paths(client: FlaskClient, users: object) -> None:
    token = csrf_of(client)
    form = {"username": "anna", "password": PASSWORD, "csrf_token": token}
    response = client.post("/signin", data={**form, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
    token = csrf_of(client)
    response = client.post("/signin", data={**form, "csrf_token": token, "next": "/station?x=1"})
    assert response.headers["Location"] == "/station?x=1"


def test_signin_form_is_a_page_with_csrf_field(client: FlaskClient) -> None:
    page = client.get("/signin?next=/quality").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert 'name="next" value="/quality"' in page
    assert "autofocus" in page
