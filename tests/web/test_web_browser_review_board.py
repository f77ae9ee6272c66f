"""The material review board in the browser: quality proposes to use a nonconforming unit as
it is, the disposition waits for engineering's signature, and takes effect when the engineer
signs it; a Pareto of the period's defects is drawn."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from flask import Flask
from pages_support import release_unit
from playwright.sync_api import Browser, Page, expect
from testdata import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def _sign(tab: Page, meaning: str, button: str) -> None:
    tab.select_option("#meaning", meaning)
    tab.fill("#password", PASSWORD)
    with tab.expect_navigation():
        tab.click(f"button:has-text('{button}')")


def test_use_as_is_waits_for_the_engineers_signature(
    tab: Page, browser: Browser, live_url: str, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    nc = line_app.extensions["ferrule"].ferrule.open_nonconformance(
        actor="anna", item=unit, defect_code="nicked-insulation", description="nick near pin 2"
    )
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.goto(f"{live_url}/quality/nc/{nc.id}")
    tab.check("input[value='use_as_is']")
    tab.fill("#reason", "outside the seal zone")
    _sign(tab, "Disposition approved", "Sign and decide")
    expect(tab.locator(".notice")).to_have_text(
        f"NC-{nc.id:04d}: use as is signed by quinn; waiting for the signature of engineer."
    )
    expect(tab.locator(".board-status")).to_have_text("waiting for engineer")

    engineer = browser.new_context(viewport={"width": 800, "height": 1280}).new_page()
    sign_in_browser(engineer, live_url, "eve", PASSWORD)
    engineer.goto(f"{live_url}/quality/")
    row = engineer.locator(f"tr[data-nc='{nc.id}']")
    expect(row).to_contain_text("use as is: waiting for engineer")
    with engineer.expect_navigation():
        row.locator("a:has-text('Sign')").click()
    expect(engineer.locator("fieldset.signature")).to_contain_text(
        f"You, eve, are signing the disposition of NC-{nc.id:04d} on {unit} (nicked-insulation: "
        "nick near pin 2)"
    )
    _sign(engineer, "Reviewed and approved", "Sign the disposition")
    expect(engineer.locator(".notice")).to_have_text(
        f"NC-{nc.id:04d} on {unit}: use as is, signed by eve."
    )
    expect(engineer.locator(".board-status")).to_have_text("effective")
    engineer.context.close()
    tab.goto(f"{live_url}/quality/pareto?by=defect_code&days=7")
    expect(tab.locator("svg.pareto rect")).to_have_count(1)
    expect(tab.locator("table tbody tr td")).to_have_text(["nicked-insulation", "1", "100.0 %"])
