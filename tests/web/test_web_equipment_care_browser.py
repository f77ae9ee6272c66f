"""A quality engineer records a failed calibration of the crimp press in the browser, sees the
impact list of what was crimped on it, and holds it all with one click (Playwright driving
Debian's Chromium against a live server)."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from test_web_equipment_care import PRESS, crimped
from testdata import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_a_failed_calibration_leads_to_its_impact_list_and_one_hold(
    tab: Page, live_url: str, line_app: Flask
) -> None:
    units = [crimped(line_app), crimped(line_app)]
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.click("nav a:has-text('Equipment')")
    expect(tab.locator(f"tr[data-equipment='{PRESS}']")).to_contain_text("idle")
    with tab.expect_navigation():
        tab.click(f"tr[data-equipment='{PRESS}'] a")
    form = tab.locator("form[data-form='calibration']")
    form.locator("input[name=result][value=fail]").check()
    form.locator("input[name=performed_by]").fill("Metrology lab")
    form.locator("input[name=certificate]").fill("CAL-2026-118")
    form.locator("input[name=measured_name_0]").fill("force at 5 kN")
    form.locator("input[name=measured_value_0]").fill("4.7")
    form.locator("textarea[name=note]").fill("Force 6 % low at 5 kN")
    form.locator("input[name=password]").fill(PASSWORD)
    with tab.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(tab.locator("h1")).to_contain_text("Impact of calibration #1")
    expect(tab.locator("[role=status]")).to_contain_text(f"{PRESS} is down")
    expect(tab.locator("[data-impact-total]")).to_contain_text("2 units and lots were made")
    for unit in units:
        expect(tab.locator(f"tr[data-item='{unit}']")).to_contain_text("queued")
    with tab.expect_navigation():
        tab.click("button:has-text('Hold all 2')")
    expect(tab.locator("[role=status]")).to_have_text("2 units and lots put on hold.")
    for unit in units:
        expect(tab.locator(f"tr[data-item='{unit}']")).to_contain_text("on hold")
    tab.click(f"a:has-text('{PRESS}')")
    expect(tab.locator("[data-state]")).to_have_text("down")
    expect(tab.locator("tr[data-calibration='1']")).to_contain_text("force at 5 kN = 4.7")
