"""An admin manages users from the browser pages and through the API: deactivate and reactivate,
reset a password, revoke a role, a qualification or a token, grant a qualification with its
training record and scan. A change ends the user's sessions on the server at once."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from flask.testing import FlaskClient
from web_support import Api, alerts_of, row_count, sign_in

from dsl.model import Plant
from engine.facade.audit import AuditTrail
from engine.infra.db import Database

SCAN = b"%PDF-1.4 crimp course TR-2026-114"


def _ended(response: Any) -> bool:
    """True when a page sent its caller to sign in again."""
    return response.status_code == 303 and "/signin?next=" in response.headers["Location"]


def test_deactivating_from_the_page_ends_the_users_session_at_once(
    client: FlaskClient, shop: Plant, db: Database
) -> None:
    anna = client.application.test_client()
    sign_in(anna, "anna")
    assert anna.get("/station/").status_code == 200
    csrf = sign_in(client, "ada")
    refused = client.post("/admin/users/anna/deactivate", data={"csrf_token": csrf, "reason": " "})
    assert refused.status_code == 422
    assert "Give a reason to deactivate anna; it goes into the audit trail." in alerts_of(refused)

    done = client.post("/admin/users/anna/deactivate", data={"csrf_token": csrf, "reason": "left"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/admin/users/anna")
    page = client.get("/admin/users/anna").get_data(as_text=True)
    assert "anna is deactivated; their sessions and API tokens have ended." in page
    assert "<span data-status>deactivated</span>" in page
    assert _ended(anna.get("/station/"))

    back = client.post(
        "/admin/users/anna/reactivate", data={"csrf_token": csrf, "reason": "rehired"}
    )
    assert back.status_code == 303
    assert "<span data-status>active</span>" in client.get("/admin/users/anna").get_data(
        as_text=True
    )
    assert AuditTrail(db).verify().ok


def test_resetting_a_password_and_revoking_a_role_from_the_page(
    client: FlaskClient, shop: Plant
) -> None:
    csrf = sign_in(client, "ada")
    weak = client.post("/admin/users/omar/password", data={"csrf_token": csrf, "password": "x"})
    assert weak.status_code == 422
    reset = client.post(
        "/admin/users/omar/password",
        data={"csrf_token": csrf, "password": "marmalade drill canyon 17"},
    )
    assert reset.status_code == 303
    other = client.application.test_client()
    sign_in(other, "omar", "marmalade drill canyon 17")

    revoked = client.post(
        "/admin/users/omar/roles/supervisor/revoke",
        data={"csrf_token": csrf, "reason": "moved to the line"},
    )
    assert revoked.status_code == 303
    page = client.get("/admin/users/omar").get_data(as_text=True)
    assert 'data-role="supervisor"' not in page
    assert 'data-role="operator"' in page
    assert _ended(other.get("/supervisor/"))

    again = client.post(
        "/admin/users/omar/roles/supervisor/revoke",
        data={"csrf_token": csrf, "reason": "moved"},
    )
    assert again.status_code == 409
    assert alerts_of(again) == [
        "User 'omar' does not have the role 'supervisor'; nothing to revoke."
    ]
    assert client.get("/admin/users/zed").status_code == 404


def test_a_qualification_is_granted_with_its_record_and_revoked_from_the_pages(
    client: FlaskClient, shop: Plant, db: Database
) -> None:
    csrf = sign_in(client, "ada")
    before = row_count(db, "attachments")
    granted = client.post(
        "/admin/users/qualification",
        data={
            "csrf_token": csrf,
            "username": "quinn",
            "qualification": "crimping",
            "evidence": "TR-2026-114, crimp course, passed",
            "file": (io.BytesIO(SCAN), "tr-114.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert granted.status_code == 303, granted.get_data(as_text=True)
    assert row_count(db, "attachments") == before + 1
    page = client.get("/admin/users/quinn").get_data(as_text=True)
    digest = hashlib.sha256(SCAN).hexdigest()
    assert "TR-2026-114, crimp course, passed" in page
    assert "by ada" in page
    scan = client.get(f"/admin/users/quinn/evidence/{digest}")
    assert scan.status_code == 200 and scan.data == SCAN
    assert client.get(f"/admin/users/anna/evidence/{digest}").status_code == 404

    revoked = client.post(
        "/admin/users/quinn/qualifications/crimping/revoke",
        data={"csrf_token": csrf, "reason": "failed the audit"},
    )
    assert revoked.status_code == 303
    page = client.get("/admin/users/quinn").get_data(as_text=True)
    assert "quinn is no longer qualified for crimping." in page
    assert 'data-qualification="crimping"' not in page


def test_an_admin_lists_and_revokes_a_users_tokens_on_their_page(
    client: FlaskClient, api: Api, shop: Plant
) -> None:
    secret = api.token("anna")
    assert api.get("/api/me", "anna").status_code == 200
    csrf = sign_in(client, "ada")
    page = client.get("/admin/users/anna").get_data(as_text=True)
    assert "tests" in page and "Revoke" in page
    token_id = next(t.id for t in client.application.extensions["ferrule"].access.tokens())
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert revoked.headers["Location"].endswith("/admin/users/anna")
    assert f"Token {token_id} (tests) is revoked." in client.get("/admin/users/anna").get_data(
        as_text=True
    )
    gone = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401
    assert client.post("/admin/tokens/999/revoke", data={"csrf_token": csrf}).status_code == 404


def test_only_admins_may_manage_users(client: FlaskClient, shop: Plant) -> None:
    csrf = sign_in(client, "sam")
    assert client.get("/admin/users/anna").status_code == 403
    refused = client.post("/admin/users/anna/deactivate", data={"csrf_token": csrf, "reason": "x"})
    assert refused.status_code == 403


def test_the_users_api(api: Api, shop: Plant, db: Database) -> None:
    listed = api.get("/api/users", "ada")
    assert listed.status_code == 200
    assert {u["username"] for u in listed.json} >= {"anna", "ada", "omar"}

    granted = api.post(
        "/api/users/quinn/qualifications",
        "ada",
        {"qualification": "crimping", "evidence": "TR-7"},
    )
    assert granted.status_code == 200
    (grant,) = granted.json["qualifications"]
    assert (grant["name"], grant["granted_by"], grant["evidence"]) == ("crimping", "ada", "TR-7")

    revoked = api.post(
        "/api/users/quinn/qualifications/crimping/revoke", "ada", {"reason": "expired course"}
    )
    assert revoked.status_code == 200 and revoked.json["qualifications"] == []

    down = api.post("/api/users/anna/deactivate", "ada", {"reason": "left"})
    assert down.status_code == 200 and down.json["active"] is False
    twice = api.post("/api/users/anna/deactivate", "ada", {"reason": "left"})
    assert twice.status_code == 409
    assert twice.json["message"] == "User 'anna' is already deactivated."
    up = api.post("/api/users/anna/reactivate", "ada", {"reason": "back"})
    assert up.status_code == 200 and up.json["active"] is True

    no_reason = api.post("/api/users/omar/roles/supervisor/revoke", "ada", {"reason": ""})
    assert no_reason.status_code == 400
    assert no_reason.json["message"] == "reason: must not be empty."
    role = api.post("/api/users/omar/roles/supervisor/revoke", "ada", {"reason": "moved"})
    assert role.status_code == 200 and role.json["roles"] == ["operator"]

    weak = api.post("/api/users/omar/password", "ada", {"password": "short"})
    assert weak.status_code == 422
    assert weak.json["field"] == "password"
    assert api.get("/api/users/zed", "ada").status_code == 404
    assert api.get("/api/users", "sam").status_code == 403
    assert AuditTrail(db).verify().ok
