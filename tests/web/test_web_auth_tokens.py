"""API tokens for machine clients: created by admins (for someone else only with roles the admin
holds too), scoped by role, revocable, and revoked when their user's roles change."""

from __future__ import annotations

from flask.testing import FlaskClient
from web_support import sign_in

from engine.access import people
from engine.infra.db import Database


def _new_token(client: FlaskClient, username: str, roles: list[str]) -> tuple[int, str]:
    csrf = sign_in(client, "olivia")
    response = client.post(
        "/api/tokens",
        json={"name": "ERP", "username": username, "roles": roles},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.json
    assert response.json is not None
    client.post("/signout", data={"csrf_token": csrf})
    return int(response.json["token"]["id"]), str(response.json["secret"])


def test_a_token_acts_as_its_user_within_its_roles(client: FlaskClient, users: object) -> None:
    _, secret = _new_token(client, "omar", ["supervisor"])
    response = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.json == {"username": "omar", "roles": ["supervisor"], "via": "token"}


def test_a_token_never_gains_a_role_its_user_lacks(client: FlaskClient, users: object) -> None:
    csrf = sign_in(client, "olivia")
    refused = client.post(
        "/api/tokens",
        json={"name": "ERP", "username": "anna", "roles": ["operator", "admin"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 422
    assert refused.json == {
        "error": "invalid",
        "message": "anna does not hold the role admin; a token can only use roles its user has. "
        "Grant the role first, or leave it out.",
        "field": "roles",
    }
    _, secret = _new_token(client, "anna", ["operator"])
    response = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.json is not None
    assert response.json["roles"] == ["operator"]
    refused = client.get("/api/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
    assert refused.json == {
        "error": "forbidden",
        "message": "This needs the role admin; anna has operator. Ask an admin to grant the role.",
    }


def test_a_revoked_token_is_refused(client: FlaskClient, users: object) -> None:
    token_id, secret = _new_token(client, "sam", ["supervisor"])
    csrf = sign_in(client, "ada")
    revoked = client.delete(f"/api/tokens/{token_id}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200
    assert revoked.json is not None
    assert revoked.json["revoked_at"] is not None
    listed = client.get("/api/tokens").json
    assert listed is not None
    assert [t["id"] for t in listed] == [token_id]
    assert "secret" not in listed[0]
    response = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert response.json == {
        "error": "unauthenticated",
        "message": "The API token is unknown, revoked or expired; ask an admin for a new one.",
    }
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ferrule"'


def test_token_errors_name_what_is_wrong(client: FlaskClient, users: object) -> None:
    csrf = sign_in(client, "olivia")
    headers = {"X-CSRF-Token": csrf}
    unknown = client.post(
        "/api/tokens",
        json={"name": "x", "username": "ghost", "roles": ["operator"]},
        headers=headers,
    )
    assert unknown.status_code == 404
    missing = client.delete("/api/tokens/999", headers=headers)
    assert missing.status_code == 404
    assert missing.json is not None
    assert missing.json["message"] == "There is no API token 999; list them with GET /api/tokens."
    expired = client.post(
        "/api/tokens",
        json={"name": "x", "username": "sam", "roles": ["supervisor"], "expires_at": "tomorrow"},
        headers=headers,
    )
    assert expired.status_code == 400
    assert expired.json == {
        "error": "bad_request",
        "message": "expires_at: 'tomorrow' is not a timestamp with a time zone; "
        "write it like 2027-01-31T12:00:00Z.",
        "field": "expires_at",
    }


def test_a_malformed_authorization_header_is_explained(client: FlaskClient, users: object) -> None:
    response = client.get("/api/me", headers={"Authorization": "Token abc"})
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["message"] == "The Authorization header must be 'Bearer <token>'."


def test_a_role_change_revokes_the_users_tokens(
    client: FlaskClient, users: object, db: Database
) -> None:
    token_id, secret = _new_token(client, "omar", ["supervisor"])
    with db.transaction() as session:
        people.revoke_role(session, "omar", "supervisor", actor="ada", reason="moved")
    response = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    sign_in(client, "ada")
    (listed,) = client.get("/api/tokens").json or []
    assert (listed["id"], listed["revoked_at"] is not None) == (token_id, True)
