"""A harness through the API from work order to signed test, and the records it leaves.
Every response is checked against the OpenAPI document (see web_support.Api)."""

from __future__ import annotations

from typing import Any

from testdata import PASSWORD
from web_support import Api

from dsl.model import Plant
from engine.floor.tagsource import StaticTagSource

CUT = {
    "data": {"length": 500.1, "strip_length": 7},
    "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
}
CRIMP = {
    "data": {"pull_force": 85, "crimp_height": 1.55, "visual": "ok"},
    "consume": [{"part": "TERM-22", "lot": "T-001"}],
}
TEST = {
    "consume": [{"part": "HOUSING-4P", "lot": "H-001"}],
    "signatures": [{"username": "quinn", "password": PASSWORD, "meaning": "Reviewed and approved"}],
}


def released_unit(api: Api, quantity: int = 1) -> str:
    created = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": quantity})
    assert created.status_code == 201, created.json
    number = created.json["number"]
    released = api.post(f"/api/work-orders/{number}/release", "sam")
    assert released.status_code == 200, released.json
    assert released.json["status"] == "released"
    items: list[str] = released.json["items"]
    assert len(items) == quantity
    return items[0]


def run(api: Api, unit: str, operation: str, body: dict[str, Any], user: str = "anna") -> Any:
    started = api.post(f"/api/items/{unit}/operations/{operation}/start", user)
    assert started.status_code == 200, started.json
    done = api.post(f"/api/items/{unit}/operations/{operation}/complete", user, body)
    assert done.status_code == 200, done.json
    return done.json


def test_a_unit_runs_the_whole_routing(api: Api, shop: Plant) -> None:
    unit = released_unit(api)
    assert run(api, unit, "cut", CUT)["next_operation"] == "crimp"
    assert run(api, unit, "crimp", CRIMP)["next_operation"] == "test"
    finished = run(api, unit, "test", TEST)
    assert finished["status"] == "completed"

    item = api.get(f"/api/items/{unit}", "quinn")
    assert item.status_code == 200
    assert item.json["status"] == "completed"
    history = api.get(f"/api/items/{unit}/history", "quinn").json
    assert [e["operation"] for e in history if e["kind"] == "complete"] == ["cut", "crimp", "test"]
    trace = api.get(f"/api/items/{unit}/genealogy", "quinn").json
    assert {(lot["part"], lot["lot"]) for lot in trace["lots"]} == {
        ("WIRE-18-RD", "W-001"),
        ("TERM-22", "T-001"),
        ("HOUSING-4P", "H-001"),
    }
    used = api.get("/api/lots/TERM-22/T-001/where-used", "quinn").json
    assert [u["number"] for u in used] == [unit]


def test_a_blocked_start_says_which_interlock_and_why(api: Api, shop: Plant, tags: Any) -> None:
    unit = released_unit(api)
    run(api, unit, "cut", CUT)
    tags.set("press1.pressure", 50.0)
    blocked = api.post(f"/api/items/{unit}/operations/crimp/start", "anna")
    assert blocked.status_code == 409
    assert blocked.json["error"] == "blocked"
    assert "Press pressure is outside its 60–80 bar window" in blocked.json["message"]
    failing = [c for c in blocked.json["checks"] if c["outcome"] == "fail"]
    assert [c["because"] for c in failing] == ["Press pressure is outside its 60–80 bar window"]
    scraper = {"Authorization": f"Bearer {api.metrics_token()}"}
    metrics = api.client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert 'ferrule_interlock_blocks_total{operation="crimp"}' in metrics


def test_hold_release_and_wip(api: Api, shop: Plant) -> None:
    unit = released_unit(api)
    held = api.post(f"/api/items/{unit}/hold", "sam", {"reason": "suspect wire batch"})
    assert held.status_code == 200
    assert held.json["status"] == "on_hold"
    refused = api.post(f"/api/items/{unit}/operations/cut/start", "anna")
    assert refused.status_code == 409
    wip = api.get("/api/wip", "sam").json
    assert [(r["operation"], r["status"], r["count"]) for r in wip] == [("cut", "on_hold", 1)]
    released = api.post(f"/api/items/{unit}/release", "quinn", {"reason": "batch cleared"})
    assert released.json["status"] == "queued"


def test_nonconformance_is_dispositioned_with_a_signature(api: Api, shop: Plant) -> None:
    unit = released_unit(api)
    opened = api.post(
        "/api/nonconformances",
        "anna",
        {"item": unit, "defect_code": "nicked-insulation", "description": "insulation nicked"},
    )
    assert opened.status_code == 201
    nc = opened.json["id"]
    assert [n["id"] for n in api.get("/api/nonconformances?open=true", "quinn").json] == [nc]
    wrong = api.post(
        f"/api/nonconformances/{nc}/disposition",
        "quinn",
        {
            "decision": "scrap",
            "reason": "cannot repair",
            "signature": {"password": "wrong", "meaning": "Disposition approved"},
        },
    )
    assert wrong.status_code == 403
    decided = api.post(
        f"/api/nonconformances/{nc}/disposition",
        "quinn",
        {
            "decision": "scrap",
            "reason": "cannot repair",
            "signature": {"password": PASSWORD, "meaning": "Disposition approved"},
        },
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["decision"] == "scrap"
    assert decided.json["decided_by"] == "quinn"
    assert api.get(f"/api/items/{unit}", "quinn").json["status"] == "scrapped"


def test_devices_show_live_values_from_the_tag_source(
    api: Api, shop: Plant, tags: StaticTagSource
) -> None:
    tags.set_bad("tester.ready", "tester: connection refused 12 s ago")
    devices = {d["name"]: d for d in api.get("/api/devices", "anna").json}
    assert set(devices) == {"press1", "tester"}
    pressure = next(t for t in devices["press1"]["tags"] if t["key"] == "press1.pressure")
    assert pressure["value"] == 70.0
    assert pressure["unit"] == "bar"
    assert pressure["quality"] == "good"
    assert pressure["reason"] is None
    ready = next(t for t in devices["tester"]["tags"] if t["key"] == "tester.ready")
    assert (ready["quality"], ready["reason"]) == ("bad", "tester: connection refused 12 s ago")
