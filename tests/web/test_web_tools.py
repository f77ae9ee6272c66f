"""The tools API: a crimp started with the applicator scanned in the start body (refused without
it), a tool's calibration and status signed through the API, its card and the units made with
it, and holding them all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from testdata import PASSWORD
from tool_plant import tool_plant_dir
from web_support import Api

from dsl.model import Plant
from engine.commands import versions
from engine.facade.audit import AuditTrail

CUT = {
    "data": {"length": 500, "strip_length": 7},
    "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
}
CRIMP = {
    "data": {"pull_force": 80, "crimp_height": 1.55, "visual": "ok"},
    "consume": [{"part": "TERM-22", "lot": "T-001"}],
}
SIGNED = {"password": PASSWORD, "meaning": "Performed and verified"}


@pytest.fixture
def cut_unit(api: Api, shop: Plant, tmp_path: Path) -> str:
    """A unit of the version whose crimp needs an applicator, cut and waiting at crimp."""
    versions.deploy(api.db, tool_plant_dir(tmp_path), actor="admin", note="applicators")
    order = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": 1}).json
    (unit,) = api.post(f"/api/work-orders/{order['number']}/release", "sam").json["items"]
    assert api.post(f"/api/items/{unit}/operations/cut/start", "anna").status_code == 200
    assert api.post(f"/api/items/{unit}/operations/cut/complete", "anna", CUT).status_code == 200
    return str(unit)


def test_a_crimp_starts_with_the_applicator_in_the_start_body(api: Api, cut_unit: str) -> None:
    start = f"/api/items/{cut_unit}/operations/crimp/start"
    refused = api.post(start, "anna")
    assert refused.status_code == 409
    assert refused.json["message"] == (
        f"Cannot start 'crimp' on Unit {cut_unit}: No tool was scanned; scan the crimp applicator "
        "(applicator-22) used for 'crimp'."
    )
    calibration = {
        "result": "pass",
        "performed_on": dt.date.today().isoformat(),
        "performed_by": "Metrology lab",
        "certificate": "CAL-A17",
        "signature": SIGNED,
    }
    recorded = api.post("/api/tools/A-17/calibrations", "quinn", calibration)
    assert (recorded.status_code, recorded.json["tool"]) == (201, "A-17")
    bad = api.post(start, "anna", {"tool": 17})
    assert (bad.status_code, bad.json["message"]) == (400, "tool: expected a string, got 17.")
    started = api.post(start, "anna", {"tool": "A-17"})
    assert started.status_code == 200, started.json
    assert (
        api.post(f"/api/items/{cut_unit}/operations/crimp/complete", "anna", CRIMP).status_code
        == 200
    )
    card = api.get("/api/tools/A-17", "quinn").json
    assert (card["status"]["cycles"], card["status"]["life_left"]) == (1, 1)
    units = api.get("/api/tools/A-17/units", "sam").json
    assert ([u["number"] for u in units["units"]], units["total"]) == ([cut_unit], 1)
    held = api.post("/api/tools/A-17/hold-units", "sam", {"reason": "applicator recall"})
    assert held.json["held"] == [cut_unit]
    retired = api.post(
        "/api/tools/A-17/status",
        "quinn",
        {"action": "retire", "reason": "worn anvil", "signature": SIGNED},
    )
    assert (retired.status_code, retired.json["status"]) == (200, "retired")
    listed = {t["tool"]: t["status"] for t in api.get("/api/tools", "sam").json["tools"]}
    assert listed == {"A-17": "retired", "A-18": "active", "G-5": "active"}
    assert AuditTrail(api.db).verify().ok


def test_an_unknown_tool_is_a_404_with_what_to_check(api: Api, shop: Plant) -> None:
    missing = api.get("/api/tools/A-99", "sam")
    assert (missing.status_code, missing.json["message"]) == (
        404,
        "There is no tool 'A-99' in the deployed config; check the tool's label.",
    )
