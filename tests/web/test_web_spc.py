"""SPC in the browser pages and the API: the operator sees the signal and its rule, the chart is
drawn by the server as SVG with limits, zones and the signal marked, and quality acknowledges."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pages_support import CRIMP_FORM, CUT_FORM, form_token, release_unit
from web_support import Api, csrf_of, sign_in

from engine.commands import versions
from engine.facade.audit import AuditTrail
from engine.infra.db import Database

ACME = Path(__file__).parents[2] / "plants" / "acme-harness"
PULL_FORCE = "pull_force: {type: number, unit: N, required: true, min: 0 N, max: 500 N}"
SPC = "spc: {chart: i-mr, limits: {center: 80, sigma: 2}, rules: [we1, we2], on_signal: hold}"
CHART = "harness-a/crimp/pull_force/i-mr"
MESSAGE = (
    "SPC signal on pull_force (i-mr chart): one point beyond the 3-sigma control limits (we1); "
    "the unit is on hold"
)


@pytest.fixture
def spc_line(line_app: Flask, db: Database, tmp_path: Path) -> Flask:
    """The line with an individuals chart on the crimp pull force (limits 74–86 N, hold)."""
    folder = tmp_path / "plant"
    shutil.copytree(ACME, folder)
    routing = folder / "routings" / "harness-a.yaml"
    text = routing.read_text()
    assert PULL_FORCE in text
    routing.write_text(text.replace(PULL_FORCE, PULL_FORCE[:-1] + f", {SPC}}}"))
    versions.deploy(db, folder, actor="admin", note="SPC")
    return line_app


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _run(client: FlaskClient, unit: str, pull_force: str) -> object:
    """Cut and crimp ``unit`` at the station; the crimp completion's response."""
    csrf = form_token(client.get("/station/").get_data(as_text=True), "csrf_token")
    for operation, form in (
        ("cut", CUT_FORM),
        ("crimp", {**CRIMP_FORM, "field-pull_force": pull_force}),
    ):
        started = client.post(
            f"/station/{unit}/start", data={"csrf_token": csrf, "operation": operation}
        )
        assert started.status_code == 303, _text(started)
        page = client.get(f"/station/{unit}").get_data(as_text=True)
        done = client.post(
            f"/station/{unit}/complete",
            data={"csrf_token": csrf, "operation": operation,
                  "revision": form_token(page, "revision"), **form},
            follow_redirects=True,
        )  # fmt: skip
    return done


def _signalled(app: Flask, client: FlaskClient) -> tuple[str, str]:
    """A unit in control, then one beyond the limits; their numbers."""
    good, bad = release_unit(app), release_unit(app)
    sign_in(client, "anna")
    assert MESSAGE not in _text(_run(client, good, "80"))
    return good, bad


def test_the_operator_sees_the_signal_with_its_rule_and_the_unit_is_held(
    spc_line: Flask, line_client: FlaskClient
) -> None:
    _good, bad = _signalled(spc_line, line_client)
    page = _text(_run(line_client, bad, "95"))
    assert f'<p class="outcome outcome-bad" role="status" data-outcome>{MESSAGE}</p>' in page
    assert "Next: test" in page
    sign_in(line_client, "quinn")
    trace = _text(line_client.get(f"/quality/trace?number={bad}"))
    assert (
        "SPC signal on pull_force: one point beyond the 3-sigma control limits (we1), "
        "on_signal hold" in trace
    )


def test_the_chart_is_drawn_with_limits_zones_and_the_signal_linked_to_its_unit(
    spc_line: Flask, line_client: FlaskClient, db: Database
) -> None:
    good, bad = _signalled(spc_line, line_client)
    _run(line_client, bad, "95")
    sign_in(line_client, "sam")
    index = _text(line_client.get("/spc/"))
    assert f'data-chart="{CHART}"' in index and "data-signal=" in index
    assert "Acknowledge</button>" not in index  # supervisors see signals, quality acknowledges
    page = _text(line_client.get(f"/spc/chart/{CHART}"))
    svg = page.split('<figure class="spc-plot" data-plot="Individuals">')[1].split("</figure>")[0]
    assert "<script" not in svg and "http://" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert ">CL 80</text>" in svg and ">UCL 86</text>" in svg and ">LCL 74</text>" in svg
    assert svg.count('fill-opacity="0.6"') == 6  # zones A, B, C on each side
    assert f'<a href="/quality/trace?number={good}">' in svg
    assert f'<a href="/quality/trace?number={bad}">' in svg
    assert svg.count('data-signal="we1"') == 1
    assert f"Point 2: 95 · {bad} · we1" in svg
    assert 'data-plot="Moving range"' in page
    assert "Limits given in the plant config." in page
    assert "<th>Cpk</th>" in page and "<td>2</td>" in page  # capability over 2 values
    assert line_client.get("/spc/chart/harness-a/crimp/nope/i-mr").status_code == 404
    assert AuditTrail(db).verify().ok


def test_quality_acknowledges_a_signal_on_the_page(
    spc_line: Flask, line_client: FlaskClient
) -> None:
    _good, bad = _signalled(spc_line, line_client)
    _run(line_client, bad, "95")
    sign_in(line_client, "anna")
    token = csrf_of(line_client)
    assert (
        line_client.post(
            "/spc/signals/1/acknowledge", data={"csrf_token": token, "comment": "x"}
        ).status_code
        == 403
    )
    sign_in(line_client, "quinn")
    token = csrf_of(line_client)
    done = line_client.post(
        "/spc/signals/1/acknowledge",
        data={"csrf_token": token, "comment": "Gauge re-zeroed", "back": f"/spc/chart/{CHART}"},
        follow_redirects=True,
    )
    page = _text(done)
    assert done.status_code == 200
    assert "SPC signal 1 acknowledged." in page
    assert "quinn" in page and "Gauge re-zeroed" in page
    blank = line_client.post(
        "/spc/signals/2/acknowledge", data={"csrf_token": token, "comment": " "}
    )
    assert blank.status_code == 422
    assert (
        "Say what was found or done about the signal; the comment goes into the record."
        in _text(blank)
    )


def test_the_api_serves_charts_and_takes_acknowledgements(
    spc_line: Flask, line_client: FlaskClient, db: Database
) -> None:
    """(Api checks every answer against the OpenAPI document.)"""
    _good, bad = _signalled(spc_line, line_client)
    _run(line_client, bad, "95")
    api = Api(spc_line, db)
    listed = api.get("/api/spc/charts", "sam").json["charts"]
    assert [(c["key"], c["on_signal"]) for c in listed] == [(CHART, "hold")]
    chart = api.get(f"/api/spc/charts/{CHART}", "sam").json
    assert [(p["value"], p["rules"]) for p in chart["points"]] == [(80.0, []), (95.0, ["we1"])]
    assert (chart["limits"]["ucl"], chart["limits"]["lcl"]) == (86.0, 74.0)
    open_ = api.get("/api/spc/signals", "quinn").json["signals"]
    assert [(s["item"], s["rule"], s["on_chart"]) for s in open_] == [
        (bad, "we1", "dispersion"),
        (bad, "we1", "location"),
    ]
    first = open_[1]["id"]
    path = f"/api/spc/signals/{first}/acknowledge"
    assert api.post(path, "anna", json={"comment": "seen"}).status_code == 403
    acknowledged = api.post(path, "quinn", json={"comment": "Gauge re-zeroed"})
    assert (acknowledged.status_code, acknowledged.json["acknowledged_by"]) == (200, "quinn")
    again = api.post(path, "quinn", json={"comment": "again"})
    assert again.status_code == 409
    assert again.json["message"].startswith(f"SPC signal {first} was already acknowledged by quinn")
    missing = api.post("/api/spc/signals/999/acknowledge", "quinn", json={"comment": "x"})
    assert (missing.status_code, missing.json["message"]) == (404, "There is no SPC signal 999.")
    assert len(api.get("/api/spc/signals", "quinn").json["signals"]) == 1
