"""The goods-in → release → consume flow in a browser: a clerk books terminals in (they arrive in
quarantine), quality releases them with an e-signature, and the operator consumes them at crimp,
where the station proposes them as the lot to expire first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from browser_support import sign_in_browser
from flask import Flask
from pages_support import release_unit
from playwright.sync_api import Page, expect
from sqlalchemy import update
from testdata import PASSWORD

from dsl.model import Plant
from engine.access import people
from engine.commands.bom import ConsumptionInput
from engine.infra.db import Database
from engine.records.tables import User

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


@pytest.fixture
def clerk(db: Database, stocked: Plant, password_hash: str) -> str:
    with db.transaction() as session:
        people.create_user(session, "gina", actor="test")
        people.grant_role(session, "gina", "stores", actor="test", plant=stocked)
        session.execute(
            update(User).where(User.username == "gina").values(password_hash=password_hash)
        )
    return "gina"


def _press(tab: Page, button: str) -> None:
    with tab.expect_navigation():
        tab.click(f"button:has-text('{button}')")


def _sign_out(tab: Page) -> None:
    _press(tab, "Sign out")


def test_a_delivery_is_booked_in_released_and_consumed(
    tab: Page, live_url: str, line_app: Flask, clerk: str, tmp_path: Path
) -> None:
    expires = dt.date.today() + dt.timedelta(days=90)  # before the stocked T-001's shelf life
    certificate = tmp_path / "coa-T-77.pdf"
    certificate.write_bytes(b"%PDF-1.4 CoA T-77\n%%EOF")

    sign_in_browser(tab, live_url, clerk, PASSWORD)
    tab.goto(f"{live_url}/")
    tab.wait_for_url("**/materials/goods-in")
    expect(tab.locator("#scan")).to_be_focused()
    # the supplier's GS1 label, as a scanner types it: our part number (241), lot, expiry
    tab.fill("#scan", f"(241)TERM-22(10)T-77(17){expires.strftime('%y%m%d')}")
    tab.locator("#scan").press("Enter")
    expect(tab.locator("#part")).to_have_value("TERM-22")
    expect(tab.locator("#supplier_lot")).to_have_value("T-77")
    expect(tab.locator("#expires_on")).to_have_value(expires.isoformat())
    expect(tab.locator("#quantity")).to_be_focused()
    tab.locator("#quantity").press("Enter")  # the quantity is missing
    expect(tab.locator("[data-message]")).to_have_text("Enter the quantity delivered.")
    expect(tab.locator("#quantity")).to_be_focused()
    tab.fill("#quantity", "500")
    tab.fill("#supplier", "Acme Terminals")
    tab.set_input_files("#certificate", str(certificate))
    _press(tab, "Book in")
    expect(tab.locator("[data-status]")).to_have_text("quarantine")
    expect(tab.locator("[data-location]")).to_have_text("goods-in")
    expect(tab.locator("a:has-text('coa-T-77.pdf')")).to_be_visible()
    _sign_out(tab)

    sign_in_browser(tab, live_url, "quinn", PASSWORD)
    tab.goto(f"{live_url}/materials/lots/TERM-22/T-77")
    release = tab.locator("section:has(h2:has-text('Release'))")
    release.locator("input[name=reason]").fill("CoA matches the specification")
    expect(release.locator("fieldset.signature")).to_contain_text("Released for production use")
    release.locator("input[name=signer]").fill("quinn")
    release.locator("input[name=password]").fill(PASSWORD)
    with tab.expect_navigation():
        release.locator("button:has-text('Release')").click()
    expect(tab.locator("[data-status]")).to_have_text("available")
    _sign_out(tab)

    unit = release_unit(line_app)
    ferrule = line_app.extensions["ferrule"].ferrule
    ferrule.start_operation(actor="anna", item=unit, operation="cut")
    ferrule.complete_operation(
        actor="anna", item=unit, operation="cut", data={"length": 500, "strip_length": 7},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
    )  # fmt: skip
    sign_in_browser(tab, live_url, "anna", PASSWORD)
    tab.goto(f"{live_url}/station/{unit}")
    _press(tab, "Start crimp")
    expect(tab.locator("[data-fefo='TERM-22']")).to_have_text(
        f"First to expire: lot T-77 (expires {expires.isoformat()})"
    )
    tab.fill("#field-pull_force", "80")
    tab.fill("#field-crimp_height", "1.55")
    tab.select_option("#field-visual", "ok")
    scan = tab.locator("input[name='consume-TERM-22-0']")
    scan.fill("T-77")
    scan.press("Enter")
    expect(tab.locator("#consume-TERM-22-0-feedback")).to_have_text("✓ T-77: 2 pcs of TERM-22")
    _press(tab, "Complete crimp")
    expect(tab.locator("[data-outcome]")).to_have_text("Next: test")
    lot = line_app.extensions["ferrule"].materials.lot("TERM-22", "T-77").lot
    assert (lot.quantity, lot.status) == (498, "available")
