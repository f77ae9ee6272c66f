"""Idempotency keys on commands, and config versions through the API (validate, deploy, refuse,
rollback)."""

from __future__ import annotations

import base64

from test_web_api_flow import released_unit
from testdata import ACME
from web_support import Api

from dsl.model import Plant


def test_a_retried_command_with_the_same_key_runs_once(api: Api, shop: Plant) -> None:
    body = {"product": "HA-100", "quantity": 2}
    key = {"Idempotency-Key": "order-7f3a"}
    first = api.post("/api/work-orders", "sam", body, headers=key)
    again = api.post("/api/work-orders", "sam", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert len(api.get("/api/work-orders", "sam").json) == 1
    reused = api.post("/api/work-orders", "sam", {**body, "quantity": 3}, headers=key)
    assert reused.status_code == 409
    assert reused.json["error"] == "idempotency_key_reused"


def test_a_retried_start_returns_the_first_result(api: Api, shop: Plant) -> None:
    unit = released_unit(api)
    key = {"Idempotency-Key": "start-1"}
    first = api.post(f"/api/items/{unit}/operations/cut/start", "anna", headers=key)
    again = api.post(f"/api/items/{unit}/operations/cut/start", "anna", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    without_key = api.post(f"/api/items/{unit}/operations/cut/start", "anna")
    assert without_key.status_code == 409  # already started


def _bundle() -> dict[str, str]:
    return {
        str(p.relative_to(ACME)): p.read_text()
        for p in ACME.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".md") and "tests" not in p.parts
    }


def _assets() -> dict[str, str]:
    return {
        str(p.relative_to(ACME)): base64.b64encode(p.read_bytes()).decode()
        for p in ACME.rglob("*.svg")
    }


def test_deploy_validate_refuse_and_rollback(api: Api, shop: Plant) -> None:
    files = _bundle()
    broken = {**files, "site.yaml": files["site.yaml"].replace("timezone:", "timezon:")}
    checked = api.post("/api/config/validate", "eve", {"files": broken, "assets": _assets()})
    assert checked.status_code == 200
    assert checked.json["ok"] is False
    assert any("timezon" in d["message"] for d in checked.json["diagnostics"])

    refused = api.post("/api/config/versions", "eve", {"files": broken, "assets": _assets()})
    assert refused.status_code == 422
    assert refused.json["error"] == "config_rejected"
    assert refused.json["diagnostics"]
    versions = api.get("/api/config/versions", "eve").json
    assert [v["active"] for v in versions] == [True]  # the running version stays active

    changed = {**files, "site.yaml": files["site.yaml"] + "\n# a comment\n"}
    key = {"Idempotency-Key": "deploy-2"}
    body = {"files": changed, "assets": _assets(), "note": "comment"}
    deployed = api.post("/api/config/versions", "eve", body, headers=key)
    assert deployed.status_code == 201, deployed.json
    assert api.post("/api/config/versions", "eve", body, headers=key).json == deployed.json
    new_id = deployed.json["version"]["id"]
    old_id = versions[0]["id"]
    assert new_id != old_id
    rolled = api.post(f"/api/config/versions/{old_id}/rollback", "ada", {"reason": "revert"})
    assert rolled.status_code == 200
    assert rolled.json["id"] == old_id
    assert rolled.json["active"] is True
