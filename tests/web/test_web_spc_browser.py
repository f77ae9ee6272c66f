"""A quality engineer finds an SPC signal, reads the chart drawn by the server on a tablet-sized
screen, follows the signalled point to its unit and acknowledges the signal (Playwright driving
Debian's Chromium against a live server)."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from test_web_spc import CHART, _run, _signalled, spc_line  # noqa: F401
from testdata import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_quality_reads_the_chart_follows_the_point_and_acknowledges(
    tab: Page,
    live_url: str,
    spc_line: Flask,  # noqa: F811
) -> None:
    client = spc_line.test_client()
    _good, bad = _signalled(spc_line, client)
    _run(client, bad, "95")
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.click("nav a:has-text('SPC')")
    expect(tab.locator("tr[data-signal]")).to_have_count(2)
    with tab.expect_navigation():
        tab.click(f"tr[data-chart='{CHART}'] a")
    location = tab.locator("figure[data-plot='Individuals'] svg")
    expect(location).to_be_visible()
    box = location.bounding_box()
    assert box is not None and box["width"] > 800  # fills a tablet's width
    expect(location.locator("circle[data-signal='we1']")).to_have_count(1)
    expect(location.locator("text[data-mark='limit']")).to_have_count(2)
    form = tab.locator("tr[data-signal='1'] form")
    form.locator("input[name=comment]").fill("Pull tester re-zeroed; retest passed")
    with tab.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(tab.locator("[role=status]")).to_have_text("SPC signal 1 acknowledged.")
    expect(tab.locator("tr[data-signal='1']")).to_contain_text("Pull tester re-zeroed")
    with tab.expect_navigation():
        location.locator("circle[data-signal='we1']").click()
    expect(tab.locator("body")).to_contain_text(bad)
    expect(tab.locator("body")).to_contain_text("one point beyond the 3-sigma control limits")
