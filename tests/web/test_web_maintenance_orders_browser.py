"""A maintenance technician finds the order opened for the crimp press, starts it and records
the maintenance in the browser, which closes the order (Playwright driving Debian's Chromium
against a live server)."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from playwright.sync_api import Page, expect
from test_web_equipment_care import PRESS
from test_web_maintenance_orders import WARNED, add_technician
from testdata import PASSWORD

from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_a_technician_works_the_order_and_records_the_maintenance(
    tab: Page, live_url: str, line_tags: StaticTagSource, db: Database, password_hash: str
) -> None:
    technician = add_technician(db, password_hash)
    line_tags.set("press1.strokes", WARNED)
    sign_in_browser(tab, live_url, technician, PASSWORD)
    tab.click("nav a:has-text('Maintenance')")
    row = tab.locator("tr[data-order='MO-00001']")
    expect(row).to_contain_text(PRESS)
    expect(row).to_contain_text("or in 1500 uses")
    with tab.expect_navigation():
        row.locator("a:has-text('MO-00001')").click()
    with tab.expect_navigation():
        tab.click("button:has-text('Start work on this order')")
    expect(tab.locator("[role=status]")).to_have_text("Maintenance order MO-00001 is in progress.")
    with tab.expect_navigation():
        tab.click("[data-record-maintenance]")
    form = tab.locator("form[data-form='maintenance']")
    form.locator("input[name=performed_by]").fill("Max")
    form.locator("textarea[name=work_done]").fill("Die and anvil replaced, greased")
    form.locator("input[name=password]").fill(PASSWORD)
    with tab.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(tab.locator("[role=status]")).to_contain_text("maintenance order MO-00001 is done")
    expect(tab.locator("[data-orders] tr[data-order='MO-00001']")).to_contain_text("done")
    expect(tab.locator("[data-uses]")).to_contain_text("0 of 20,000 counts")
