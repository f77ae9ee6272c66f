"""The issue's browser tests: Playwright driving Debian's Chromium against a live server.

An operator runs a unit of the demo routing end to end; a blocked interlock is shown with its
reason; a failing gate holds the unit; quality dispositions the nonconformance with a signature;
an engineer deploys a config with an error and sees it refused with the diagnostics.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from browser_support import sign_in_browser
from flask import Flask
from pages_support import release_unit
from playwright.sync_api import Page, expect
from testdata import ACME, PASSWORD

from engine.commands.bom import ConsumptionInput
from engine.floor.tagsource import StaticTagSource

# a 1 × 1 PNG, as a tablet's camera would send a (larger) one
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def _scan(tab: Page, number: str) -> None:
    """Type a number into the scan field and press Enter, as a barcode scanner does."""
    field = tab.locator("#scan-number")
    expect(field).to_be_focused()
    field.fill(number)
    field.press("Enter")
    tab.wait_for_url(f"**/station/{number}")


def _cut(app: Flask, unit: str, length: float = 500.0) -> None:
    ferrule = app.extensions["ferrule"].ferrule
    ferrule.start_operation(actor="anna", item=unit, operation="cut")
    ferrule.complete_operation(
        actor="anna",
        item=unit,
        operation="cut",
        data={"length": length, "strip_length": 7},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
    )


def _press(tab: Page, button: str) -> None:
    """Click a button that submits, and wait until the next tab has loaded (scripts too)."""
    with tab.expect_navigation():
        tab.click(f"button:has-text('{button}')")


def _scan_component(tab: Page, input_name: str, lot: str, feedback: str) -> None:
    scan = tab.locator(f"input[name='{input_name}']")
    scan.fill(lot)
    scan.press("Enter")
    expect(tab.locator(f"#{input_name}-feedback")).to_have_text(feedback)


def test_an_operator_runs_a_unit_end_to_end(tab: Page, live_url: str, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in_browser(tab, live_url, "anna", PASSWORD)
    tab.goto(f"{live_url}/station/")
    _scan(tab, unit)
    expect(tab.locator(".instructions img")).to_have_attribute(
        "src", "/config/1/files/instructions/img/strip-gauge.svg"
    )
    _press(tab, "Start cut")
    # checked in the browser before anything is sent
    tab.click("button:has-text('Complete cut')")
    expect(tab.locator("#field-length-error")).to_have_text("length: required; enter a value in mm")
    tab.fill("#field-length", "520")
    tab.click("button:has-text('Complete cut')")
    expect(tab.locator("#field-length-error")).to_have_text(
        "length: 520 mm is above the maximum 510 mm"
    )
    tab.fill("#field-length", "500")
    tab.fill("#field-strip_length", "7")
    _scan_component(
        tab,
        "consume-WIRE-18-RD-0",
        "T-001",
        ("✗ Lot 'T-001' is a lot of TERM-22, not WIRE-18-RD; scan a lot of WIRE-18-RD."),
    )
    _scan_component(tab, "consume-WIRE-18-RD-0", "W-001", "✓ W-001: 0.5 m of WIRE-18-RD")
    _press(tab, "Complete cut")
    expect(tab.locator("[data-outcome]")).to_have_text("Next: crimp")

    _press(tab, "Start crimp")
    tab.fill("#field-pull_force", "80")
    tab.fill("#field-crimp_height", "1.55")
    tab.select_option("#field-visual", "ok")
    photo = tab.locator("#field-photo")  # the tablet's camera
    expect(photo).to_have_attribute("capture", "environment")
    expect(photo).to_have_attribute("accept", "image/*")
    photo.set_input_files({"name": "crimp.png", "mimeType": "image/png", "buffer": PHOTO})
    _scan_component(tab, "consume-TERM-22-0", "T-001", "✓ T-001: 2 pcs of TERM-22")
    _press(tab, "Complete crimp")
    expect(tab.locator("[data-outcome]")).to_have_text("Next: test")

    _press(tab, "Start test")
    _scan_component(tab, "consume-HOUSING-4P-0", "H-001", "✓ H-001: 1 pcs of HOUSING-4P")
    expect(tab.locator("fieldset.signature")).to_contain_text("Reviewed and approved")
    tab.fill("input[name='sign-0-username']", "quinn")
    tab.fill("input[name='sign-0-password']", PASSWORD)
    _press(tab, "Complete test")
    expect(tab.locator("[data-outcome]")).to_have_text("Completed")
    expect(tab.locator(".item .badge")).to_have_text("completed")
    digest = hashlib.sha256(PHOTO).hexdigest()
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.goto(f"{live_url}/quality/trace?number={unit}")
    shown = tab.locator("a[data-photo] img")
    expect(shown).to_have_attribute("src", f"/api/photos/{digest}")
    assert tab.evaluate("(img) => img.naturalWidth", shown.element_handle()) == 1


def test_a_blocked_interlock_is_shown_with_its_reason_and_clears_live(
    tab: Page, live_url: str, line_app: Flask, line_tags: StaticTagSource
) -> None:
    unit = release_unit(line_app)
    _cut(line_app, unit)
    line_tags.set("press1.pressure", 50.0)
    sign_in_browser(tab, live_url, "anna", PASSWORD)
    tab.goto(f"{live_url}/station/{unit}")
    expect(tab.locator("#blocked-reason")).to_have_text(
        "Start is blocked: Press pressure is outside its 60–80 bar window."
    )
    start = tab.locator("button:has-text('Start crimp')")
    expect(start).to_be_disabled()
    row = tab.locator("tr[data-check='Press pressure is outside its 60–80 bar window']")
    expect(row).to_contain_text("press1.pressure 50 bar")
    expect(row.locator(".badge")).to_have_text("fail")
    line_tags.set("press1.pressure", 70.0)  # the panel refreshes itself about once a second
    expect(start).to_be_enabled()
    expect(row.locator(".badge")).to_have_text("pass")


def test_a_failing_gate_holds_the_unit(tab: Page, live_url: str, line_app: Flask) -> None:
    unit = release_unit(line_app)
    sign_in_browser(tab, live_url, "anna", PASSWORD)
    tab.goto(f"{live_url}/station/{unit}")
    _press(tab, "Start cut")
    tab.fill("#field-length", "502")
    tab.fill("#field-strip_length", "7")
    _scan_component(tab, "consume-WIRE-18-RD-0", "W-001", "✓ W-001: 0.5 m of WIRE-18-RD")
    _press(tab, "Complete cut")
    expect(tab.locator("[data-outcome]")).to_have_text("Held: Cut length outside 500 ± 0.5 mm")
    expect(tab.locator(".item .badge")).to_have_text("on hold")


def test_quality_dispositions_the_nonconformance_with_a_signature(
    tab: Page, live_url: str, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    _cut(line_app, unit)
    ferrule = line_app.extensions["ferrule"].ferrule
    ferrule.start_operation(actor="anna", item=unit, operation="crimp")
    result = ferrule.complete_operation(  # the 10th-unit pull test is not due: open one by hand
        actor="anna",
        item=unit,
        operation="crimp",
        data={"pull_force": 80, "crimp_height": 1.55, "visual": "ok"},
        consume=[ConsumptionInput("TERM-22", "T-001")],
    )
    assert result.route == "next"
    nc = ferrule.open_nonconformance(
        actor="quinn", item=unit, defect_code="burr", description="Burr on terminal 2"
    )
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.goto(f"{live_url}/quality/")
    tab.locator(f"tr[data-nc='{nc.id}'] a:has-text('Disposition')").click()
    expect(tab.locator("fieldset.signature")).to_contain_text(
        f"You, quinn, are signing the disposition of NC-{nc.id:04d} on {unit} (burr: Burr on "
        "terminal 2)"
    )
    tab.check("input[value='rework']")
    tab.select_option("#target_operation", "crimp")
    tab.fill("#reason", "Re-crimp terminal 2")
    tab.select_option("#meaning", "Disposition approved")
    tab.fill("#password", PASSWORD)
    tab.click("button:has-text('Sign and decide')")
    expect(tab.locator(".notice")).to_have_text(
        f"NC-{nc.id:04d} on {unit}: rework at an operation at 'crimp', signed by quinn."
    )
    tab.goto(f"{live_url}/quality/trace?number={unit}")
    expect(tab.locator(".signed").first).to_contain_text(
        "Signed by Quinn (quinn, quality) — “Disposition approved”"
    )


def test_an_engineer_deploys_a_config_with_an_error_and_sees_it_refused(
    tab: Page, live_url: str, tmp_path: Path
) -> None:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for path in ACME.rglob("*"):
            relative = path.relative_to(ACME).as_posix()
            if path.is_file() and not relative.startswith("tests/"):
                text = path.read_bytes()
                if relative == "routings/harness-a.yaml":
                    text = text.replace(b"press1.pressure between", b"press1.presure between")
                archive.writestr(relative, text)
    upload = tmp_path / "acme-broken.zip"
    upload.write_bytes(bundle.getvalue())
    sign_in_browser(tab, live_url, "eve", PASSWORD)
    tab.goto(f"{live_url}/admin/config")
    tab.set_input_files("input[name=bundle]", str(upload))
    tab.click("button:has-text('Check and deploy')")
    expect(tab.locator("[data-message]")).to_have_text(
        "The plant has 1 error; nothing was deployed and version 1 stays active. Fix the errors "
        "(`ferrule check bundle`) and deploy again."
    )
    diagnostics = tab.locator("[data-diagnostics]")
    expect(diagnostics).to_contain_text("bundle/routings/harness-a.yaml:")
    expect(diagnostics).to_contain_text("unknown tag 'press1.presure'")
    expect(tab.locator("tr[data-version]")).to_have_count(1)
