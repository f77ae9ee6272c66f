"""The operator station through Flask's test client: rendering from the plant model, starting,
completing with server-side validation, outcomes, and the component check."""

from __future__ import annotations

import datetime as dt
import html

from flask import Flask
from flask.testing import FlaskClient
from pages_support import CRIMP_FORM, CUT_FORM, form_token, release_unit
from testdata import PASSWORD
from web_support import sign_in

from engine.access.signatures import SignatureInput
from engine.commands.deviations import DeviationInput
from engine.floor.tagsource import StaticTagSource


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _start(client: FlaskClient, csrf: str, unit: str, operation: str) -> None:
    response = client.post(
        f"/station/{unit}/start", data={"csrf_token": csrf, "operation": operation}
    )
    assert response.status_code == 303, _text(response)


def _complete(
    client: FlaskClient, csrf: str, unit: str, operation: str, form: dict[str, str]
) -> object:
    page = client.get(f"/station/{unit}").get_data(as_text=True)
    data = {
        "csrf_token": csrf,
        "operation": operation,
        "revision": form_token(page, "revision"),
        **form,
    }
    return client.post(f"/station/{unit}/complete", data=data)


def test_the_scan_page_has_an_autofocused_scan_field(line_client: FlaskClient) -> None:
    sign_in(line_client, "anna")
    page = line_client.get("/station/").get_data(as_text=True)
    assert '<input id="scan-number" name="number"' in page
    assert "autofocus" in page.split('id="scan-number"')[1].split(">")[0]


def test_scanning_opens_the_unit_with_instructions_and_interlocks(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    response = line_client.get(f"/station/?number={unit}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/station/{unit}"
    page = _text(line_client.get(f"/station/{unit}"))
    assert "Operation: cut — Cut and strip wire" in page
    assert "<strong>500 mm</strong>" in page  # the Markdown instructions, rendered
    # the image points at the deployed version's file
    assert (
        '<img src="/config/1/files/instructions/img/strip-gauge.svg" alt="Strip length gauge"'
        in page
    )
    assert "Start cut</button>" in page


def test_an_unknown_serial_says_so_on_the_scan_page(line_client: FlaskClient) -> None:
    sign_in(line_client, "anna")
    response = line_client.get("/station/NOPE-1")
    assert response.status_code == 404
    assert "NOPE-1" in _text(response)
    assert 'role="alert"' in response.get_data(as_text=True)


def test_the_interlock_panel_shows_live_values_and_why_start_is_blocked(
    line_client: FlaskClient, line_app: Flask, line_tags: StaticTagSource
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    assert _complete(line_client, csrf, unit, "cut", CUT_FORM).status_code == 303  # type: ignore[attr-defined]
    line_tags.set("press1.pressure", 50.0)
    panel = _text(line_client.get(f"/station/{unit}/panel"))
    assert 'press1.pressure</span> <span class="value">50 bar' in panel
    assert '<span class="badge fail">fail</span>' in panel
    assert "Start is blocked: Press pressure is outside its 60–80 bar window." in panel
    assert "disabled" in panel.split("Start crimp")[0].rsplit("<button", 1)[1]
    # the engine refuses the start as well, and says why
    response = line_client.post(
        f"/station/{unit}/start", data={"csrf_token": csrf, "operation": "crimp"}
    )
    assert response.status_code == 409
    assert (
        f"Cannot start 'crimp' on Unit {unit}: Press pressure is outside its 60–80 bar window "
        "(press1.pressure = 50 bar)." in _text(response)
    )


def test_the_form_is_generated_from_the_fields(line_client: FlaskClient, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    page = _text(line_client.get(f"/station/{unit}"))
    length = page.split('id="field-length"')[1].split(">")[0]
    assert 'type="number"' in length
    assert 'step="any"' in length
    assert 'min="490" data-min="490"' in length
    assert 'max="510" data-max="510"' in length
    assert 'data-unit="mm"' in length
    assert "required" in length
    assert "Allowed: 490 to 510 mm" in page
    assert 'placeholder="scan WIRE-18-RD lot"' in page
    assert 'name="consume-WIRE-18-RD-qty"' in page  # 2 % tolerance: actual quantity may differ


def test_server_side_errors_are_shown_next_to_their_fields(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    bad = {**CUT_FORM, "field-length": "520", "field-strip_length": ""}
    response = _complete(line_client, csrf, unit, "cut", bad)
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = _text(response)
    assert (
        '<p id="field-length-error" class="field-error" role="alert">length: 520 mm is above the '
        "maximum 510 mm</p>" in page
    )
    assert (
        '<p id="field-strip_length-error" class="field-error" role="alert">strip_length: '
        "required; enter a value in mm</p>" in page
    )
    assert 'value="520"' in page  # what was typed stays


def test_a_passing_cut_says_next_crimp(line_client: FlaskClient, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    response = _complete(line_client, csrf, unit, "cut", CUT_FORM)
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = _text(line_client.get(f"/station/{unit}"))
    assert '<p class="outcome outcome-ok" role="status" data-outcome>Next: crimp</p>' in page


def test_a_failing_gate_holds_the_unit_and_says_why(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    _complete(line_client, csrf, unit, "cut", {**CUT_FORM, "field-length": "502"})
    page = _text(line_client.get(f"/station/{unit}"))
    assert "Held: Cut length outside 500 ± 0.5 mm" in page
    assert (
        f"Unit {unit} is on hold (reason: Cut length outside 500 ± 0.5 mm); a supervisor must "
        "release it before it can start 'crimp'." in page
    )


def test_a_crimp_out_of_spec_is_sent_back_for_rework(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    _complete(line_client, csrf, unit, "cut", CUT_FORM)
    _start(line_client, csrf, unit, "crimp")
    _complete(line_client, csrf, unit, "crimp", {**CRIMP_FORM, "field-crimp_height": "1.8"})
    page = _text(line_client.get(f"/station/{unit}"))
    assert (
        "Sent back to crimp for rework (1 of 2): Crimp height or appearance out of specification"
        in page
    )


def test_the_component_check_answers_at_once(line_client: FlaskClient, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    ok = line_client.get(f"/station/{unit}/component?part=WIRE-18-RD&lot=W-001")
    assert ok.json == {"ok": True, "message": "W-001: 0.5 m of WIRE-18-RD"}
    wrong = line_client.get(f"/station/{unit}/component?part=WIRE-18-RD&lot=T-001")
    assert wrong.json == {
        "ok": False,
        "message": "Lot 'T-001' is a lot of TERM-22, not WIRE-18-RD; scan a lot of WIRE-18-RD.",
    }


def test_starting_needs_the_csrf_token(line_client: FlaskClient, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    response = line_client.post(f"/station/{unit}/start", data={"operation": "cut"})
    assert response.status_code == 403
    assert (
        "This form has expired or did not come from Ferrule; reload the page and try again."
        in _text(response)
    )


REFUSED = "press1: connection refused (since 12 s ago)"
PRESSURE = "Press pressure is outside its 60–80 bar window"


def test_the_interlock_panel_says_why_a_value_is_unavailable(
    line_client: FlaskClient, line_app: Flask, line_tags: StaticTagSource
) -> None:
    unit = release_unit(line_app)
    sign_in(line_client, "anna")
    csrf = form_token(line_client.get("/station/").get_data(as_text=True), "csrf_token")
    _start(line_client, csrf, unit, "cut")
    assert _complete(line_client, csrf, unit, "cut", CUT_FORM).status_code == 303  # type: ignore[attr-defined]
    line_tags.set_bad("press1.pressure", REFUSED)
    panel = _text(line_client.get(f"/station/{unit}/panel"))
    pressure = panel.split(f'data-check="{PRESSURE}"')[1].split("</tr>")[0]
    assert '<span class="badge unknown">unknown</span>' in pressure
    assert (
        f'<div class="why">{PRESSURE} (cannot be checked: press1.pressure is unavailable: '
        "press1: connection refused (since 12 s ago))</div>"
    ) in pressure
    assert (
        '<div class="live quality-bad"><span class="key">press1.pressure</span> '
        '<span class="value">no value' in pressure
    )
    assert f'<div class="reason">{REFUSED}</div>' in pressure
    down = panel.split('data-check="crimp-press-1 not down"')[1].split("</tr>")[0]
    assert (
        '<span class="key">equipment.state</span> <span class="value">down because press1.pressure '
        "is unavailable: press1: connection refused (since 12 s ago)</span></div>"
    ) in down
    blocked = (
        "Equipment crimp-press-1 is down (equipment.state = down because press1.pressure is "
        f"unavailable: {REFUSED}); {PRESSURE} (cannot be checked: press1.pressure is "
        f"unavailable: {REFUSED})"
    )
    assert f'role="status">Start is blocked: {blocked}.</p>' in panel
    # the engine refuses the start with the same reasons
    response = line_client.post(
        f"/station/{unit}/start", data={"csrf_token": csrf, "operation": "crimp"}
    )
    assert response.status_code == 409
    assert f"Cannot start 'crimp' on Unit {unit}: {blocked}." in _text(response)


def test_a_planned_deviation_in_force_is_shown_at_the_station(
    line_client: FlaskClient, line_app: Flask
) -> None:
    ferrule = line_app.extensions["ferrule"].ferrule
    unit = release_unit(line_app)
    order = ferrule.item(unit).work_order
    now = dt.datetime.now(dt.UTC)
    given = DeviationInput(
        product="HA-100", operation="cut", gate="cut length", subject="length", low=499.0,
        high=501.0, work_orders=(order,), valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=2), reason="concession CC-7 for the first lot",
    )  # fmt: skip
    approved = ferrule.approve_deviation(
        actor="quinn", given=given,
        signature=SignatureInput("quinn", PASSWORD, "Deviation approved"),
    )  # fmt: skip
    sign_in(line_client, "anna")
    page = html.unescape(line_client.get(f"/station/{unit}").get_data(as_text=True))
    until = given.valid_until.strftime("%Y-%m-%d %H:%M")
    assert (
        f'<p class="deviation" role="note" data-deviation="{approved.number}">Planned deviation '
        f"{approved.number}: gate 'cut length' of 'cut' accepts length from 499 to 501 mm until "
        f"{until} UTC (concession CC-7 for the first lot), signed by quinn.</p>"
    ) in page
