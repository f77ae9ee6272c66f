"""In the browser: an operator signs in, lands on the station's work-centre queue, picks the next
unit (the most urgent work order's) without scanning it, and starts it."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from testdata import PASSWORD

from engine.commands.workorders import WorkOrderPlan

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_an_operator_picks_the_next_unit_from_the_queue_and_starts_it(
    tab: Page, live_url: str, line_app: Flask
) -> None:
    ferrule = line_app.extensions["ferrule"].ferrule
    routine = ferrule.create_work_order(actor="sam", product="HA-100", quantity=2)
    ferrule.release_work_order(actor="sam", number=routine.number)
    rush = ferrule.create_work_order(
        actor="sam", product="HA-100", quantity=1, plan=WorkOrderPlan(priority=1)
    )
    (urgent,) = ferrule.release_work_order(actor="sam", number=rush.number).items

    sign_in_browser(tab, live_url, "anna", PASSWORD)
    expect(tab.locator("h2")).to_have_text("Which work centre is this station at?")
    with tab.expect_navigation():
        tab.click("a:has-text('cutting')")
    expect(tab.locator("h1")).to_contain_text("Next at cutting")
    expect(tab.locator("tr[data-item]")).to_have_count(3)
    expect(tab.locator("tr[data-item]").first).to_have_attribute("data-item", urgent)

    # the next operator on this tablet lands on the same queue
    tab.goto(f"{live_url}/")
    pick = tab.locator("[data-pick-next]")
    expect(pick).to_have_text(f"Pick next: {urgent} · cut")
    with tab.expect_navigation():
        pick.click()
    tab.wait_for_url(f"**/station/{urgent}")
    with tab.expect_navigation():
        tab.click("button:has-text('Start cut')")
    expect(tab.locator(".item .badge").first).to_have_text("in progress")

    tab.goto(f"{live_url}/station/")
    running = tab.locator("section:has(h2:has-text('Running here')) a")
    expect(running).to_have_text(urgent)
    expect(tab.locator("tr[data-item]")).to_have_count(2)
