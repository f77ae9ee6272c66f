"""A quality engineer opens a unit's record on its exceptions, acknowledges each, releases it with
an e-signature and downloads the PDF (Playwright driving Debian's Chromium against a live
server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from test_web_records import finished_unit
from testdata import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_quality_reviews_by_exception_releases_and_downloads_the_pdf(
    tab: Page, live_url: str, line_app: Flask, tmp_path: Path
) -> None:
    unit = finished_unit(line_app)
    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.click("nav >> text=Records")
    tab.fill("input[name=number]", unit)
    with tab.expect_navigation():
        tab.click("button:has-text('Open the record')")
    expect(tab).to_have_url(f"{live_url}/records/item/{unit}")
    expect(tab.locator("[data-review-status]")).to_have_text("open")
    open_rows = tab.locator("tr.exception.open")
    expect(open_rows).to_have_count(3)
    expect(open_rows.first).to_contain_text("gate 'cut length' failed (length = 500.8 mm)")
    while open_rows.count():
        row = open_rows.first
        row.locator("input[name=comment]").fill("Accepted under ECO-12")
        with tab.expect_navigation():
            row.locator("button:has-text('Acknowledge')").click()
        expect(tab.locator("p.notice")).to_contain_text("Acknowledged:")
    expect(tab.locator("tr.exception.acknowledged")).to_have_count(3)
    form = tab.locator("[data-decision-form]")
    form.locator("input[value=released]").check()
    form.locator("input[name=password]").fill(PASSWORD)
    with tab.expect_navigation():
        form.locator("button:has-text('Sign the decision')").click()
    expect(tab.locator("p.notice")).to_have_text(
        f"The record of {unit} was released, signed by quinn."
    )
    expect(tab.locator("[data-review-status]")).to_have_text("released")
    expect(tab.locator("[data-decision-form]")).to_have_count(0)
    digest = tab.locator("[data-hash]").inner_text().strip()
    with tab.expect_download() as started:
        tab.click("a[data-download-pdf]")
    download = started.value
    assert download.suggested_filename == f"item-{unit}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pages = [p.extract_text() for p in PdfReader(saved).pages]
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert f"content SHA-256 {digest}" in pages[-1]
    assert "released" in pages[0]
