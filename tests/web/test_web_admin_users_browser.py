"""An admin, in the browser, grants a qualification with its training record and scan, opens the
user's page, revokes it and deactivates the user (Playwright driving Debian's Chromium against a
live server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import sign_in_browser
from playwright.sync_api import Page, expect
from testdata import PASSWORD

from dsl.model import Plant

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_an_admin_grants_with_evidence_revokes_and_deactivates(
    tab: Page, live_url: str, stocked: Plant, tmp_path: Path
) -> None:
    scan = tmp_path / "tr-114.pdf"
    scan.write_bytes(b"%PDF-1.4 crimp course TR-2026-114")
    sign_in_browser(tab, live_url, "ada", PASSWORD)
    tab.goto(f"{live_url}/admin/users")
    grant = tab.locator("form", has=tab.locator("input[name=evidence]"))
    grant.locator("select[name=username]").select_option("quinn")
    grant.locator("select[name=qualification]").select_option("crimping")
    grant.locator("input[name=evidence]").fill("TR-2026-114, crimp course, passed")
    grant.locator("input[name=file]").set_input_files(str(scan))
    with tab.expect_navigation():
        grant.locator("button[type=submit]").click()
    expect(tab.locator("[role=status]")).to_contain_text("quinn is qualified for crimping.")

    with tab.expect_navigation():
        tab.click("a:has-text('quinn')")
    row = tab.locator("tr[data-qualification=crimping]")
    expect(row).to_contain_text("TR-2026-114, crimp course, passed")
    expect(row).to_contain_text("by ada")
    expect(row.locator("a:has-text('scan')")).to_be_visible()
    row.locator("input[name=reason]").fill("failed the audit")
    with tab.expect_navigation():
        row.locator("button:has-text('Revoke')").click()
    expect(tab.locator("[role=status]")).to_contain_text(
        "quinn is no longer qualified for crimping."
    )
    expect(tab.locator("tr[data-qualification=crimping]")).to_have_count(0)

    status = tab.locator("[data-section=status]")
    status.locator("input[name=reason]").fill("left the company")
    with tab.expect_navigation():
        status.locator("button:has-text('Deactivate')").click()
    expect(tab.locator("[data-status]")).to_have_text("deactivated")
    expect(tab.locator("[role=status]")).to_contain_text(
        "quinn is deactivated; their sessions and API tokens have ended."
    )
