"""An operator scans the crimp applicator at the station and starts crimping; a tool that is not
an applicator is refused with the reason; the tool's card then counts the crimp (Playwright
driving Debian's Chromium against a live server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from browser_support import sign_in_browser
from flask import Flask
from pages_support import CRIMP_FORM, release_unit
from playwright.sync_api import Page, expect
from testdata import PASSWORD
from tool_plant import tool_plant_dir

from engine.access.signatures import SignatureInput
from engine.commands import versions
from engine.commands.bom import ConsumptionInput
from engine.commands.calibration import CalibrationInput

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def _cut_unit(app: Flask, tmp_path: Path) -> str:
    """A unit of the version whose crimp needs an applicator, cut; A-17 calibrated today."""
    services = app.extensions["ferrule"]
    versions.deploy(services.ferrule.db, tool_plant_dir(tmp_path), actor="admin", note="tools")
    given = CalibrationInput("pass", dt.date.today(), "Metrology lab", certificate="CAL-A17")
    signature = SignatureInput("quinn", PASSWORD, "Performed and verified")
    services.tools.record_calibration(actor="quinn", tool="A-17", given=given, signature=signature)
    unit = release_unit(app)
    services.ferrule.start_operation(actor="anna", item=unit, operation="cut")
    services.ferrule.complete_operation(
        actor="anna", item=unit, operation="cut", data={"length": 500.0, "strip_length": 7.0},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
    )  # fmt: skip
    return unit


def _start_with(tab: Page, tool: str) -> None:
    tab.fill("#start-tool", tool)
    with tab.expect_navigation():
        tab.press("#start-tool", "Enter")  # a barcode scanner ends with Enter


def test_the_operator_scans_the_applicator_and_starts_crimping(
    tab: Page, live_url: str, line_app: Flask, tmp_path: Path
) -> None:
    unit = _cut_unit(line_app, tmp_path)
    sign_in_browser(tab, live_url, "anna", PASSWORD)
    tab.goto(f"{live_url}/station/{unit}")
    expect(tab.locator("label[for=start-tool]")).to_have_text(
        "Tool (applicator-22): scan its label"
    )
    _start_with(tab, "G-5")
    expect(tab.locator("[role=alert], .error").first).to_contain_text(
        "Tool G-5 is a pin gauge (gauge-5), not a crimp applicator (applicator-22)"
    )
    _start_with(tab, "A-17")
    expect(tab.locator("button:has-text('Complete crimp')")).to_be_visible()
    for field, value in CRIMP_FORM.items():
        if field == "field-visual":
            tab.select_option(f"#{field}", value)
        elif not field.startswith("consume-"):
            tab.fill(f"#{field}", value)
    tab.fill("[name='consume-TERM-22-0']", "T-001")
    with tab.expect_navigation():
        tab.click("button:has-text('Complete crimp')")
    expect(tab.locator("[data-outcome]")).to_have_text("Next: test")
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.click("nav a:has-text('Tools')")
    expect(tab.locator("tr[data-tool='A-17'] [data-life]")).to_contain_text("1 of 2 cycles")
    with tab.expect_navigation():
        tab.click("tr[data-tool='A-17'] a")
    expect(tab.locator(f"tr[data-unit='{unit}']")).to_contain_text("crimp")
