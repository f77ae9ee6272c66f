"""An inspector, holding only the auditor role, signs in, filters the audit trail by a lot and
downloads the selection as CSV (Playwright driving Debian's Chromium against a live server)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from browser_support import sign_in_browser
from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from testdata import PASSWORD

from dsl.model import Plant
from engine.access import people
from engine.commands import materials
from engine.infra.db import Database
from engine.records.tables import Lot, User

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_an_inspector_filters_by_a_lot_and_downloads_csv(
    tab: Page, live_url: str, db: Database, stocked: Plant, password_hash: str, tmp_path: Path
) -> None:
    with db.transaction() as session:
        people.create_user(session, "ines", actor="test", full_name="Ines Inspector")
        people.grant_role(session, "ines", "auditor", actor="test")
        session.execute(
            update(User).where(User.username == "ines").values(password_hash=password_hash)
        )
        materials.hold_lot(session, "TERM-22", "T-001", actor="quinn", reason="crimp height drift")
        lot_id = session.scalar(select(Lot.id).where(Lot.number == "T-001"))
    sign_in_browser(tab, live_url, "ines", PASSWORD)
    expect(tab).to_have_url(f"{live_url}/audit/")
    tab.fill("input[name=entity]", "lot")
    tab.fill("input[name=entity_id]", "T-001")
    with tab.expect_navigation():
        tab.click("button:has-text('Search')")
    rows = tab.locator("#rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("hold")
    expect(rows.nth(0)).to_contain_text(f"lot {lot_id}")
    expect(rows.nth(0)).to_contain_text("status: available → on_hold")
    expect(rows.nth(0)).to_contain_text("crimp height drift")
    expect(rows.nth(1)).to_contain_text("receive")
    with tab.expect_download() as started:
        tab.click("a[data-csv]")
    download = started.value
    assert download.suggested_filename.startswith("audit-trail-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert table[0] == [
        "seq",
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "old",
        "new",
        "reason",
    ]
    assert [(r[2], r[3], r[4], r[5], r[8]) for r in table[1:]] == [
        ("quinn", "hold", "lot", str(lot_id), "crimp height drift"),
        ("setup", "receive", "lot", str(lot_id), ""),
    ]
