"""AQL receiving inspection in the browser: quality opens a received lot of terminals, starts
its inspection from the lot page, sees the plan the Z1.4 tables give for the lot's size, records
the samples one by one, and sees the decision: a lot of 8 (100 % inspection, Ac 0) with every
sample conforming is accepted and leaves quarantine; a lot of 150 (n = 13, Ac 0, Re 1) is
rejected at its first nonconforming sample and stays in quarantine with the reason."""

from __future__ import annotations

import pytest
from browser_support import sign_in_browser
from flask import Flask
from playwright.sync_api import Page, expect
from testdata import PASSWORD

from engine.commands.lots import Receipt

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]

SUPPLIER = "Kontakt GmbH"


def _received(app: Flask, number: str, quantity: int) -> None:
    receipt = Receipt(part="TERM-22", supplier_lot=number, quantity=quantity, supplier=SUPPLIER)
    app.extensions["ferrule"].materials.receive(actor="sam", receipt=receipt)


def _start_from_the_lot_page(tab: Page, base: str, number: str) -> None:
    tab.goto(f"{base}/materials/lots/TERM-22/{number}")
    expect(tab.locator("[data-status]")).to_have_text("quarantine")
    with tab.expect_navigation():
        tab.click("[data-aql-inspection]")
    expect(tab.locator("#inspection-lot")).to_have_value(number)
    with tab.expect_navigation():
        tab.click("button:has-text('Start the inspection')")


def _record(tab: Page, *, conforming: bool, defect_code: str = "") -> None:
    tab.fill("#defect-code", defect_code)
    with tab.expect_navigation():
        tab.click("[data-conforming]" if conforming else "[data-nonconforming]")


def test_the_aql_gate_accepts_one_lot_and_rejects_another_per_the_tables(
    tab: Page, live_url: str, line_app: Flask
) -> None:
    _received(line_app, "T-SMALL", 8)
    _received(line_app, "T-150", 150)
    sign_in_browser(tab, live_url, "quinn", PASSWORD)

    _start_from_the_lot_page(tab, live_url, "T-SMALL")
    expect(tab.locator("[data-plan]")).to_have_text(
        "normal, level II, AQL 1.0, code A → E: 100 % inspection, Ac 0, Re 1"
    )
    expect(tab.locator("[data-sample-size]")).to_have_text("8")
    for _ in range(7):
        _record(tab, conforming=True)
        expect(tab.locator("[data-decision]")).to_have_text("open")
    _record(tab, conforming=True)
    expect(tab.locator(".notice")).to_have_text("Lot 'T-SMALL' is accepted.")
    expect(tab.locator("[data-decision]")).to_have_text("accepted")
    expect(tab.locator("[data-inspected]")).to_have_text("8")
    expect(tab.locator("form[data-form=sample]")).to_have_count(0)
    tab.click("a:has-text('The lot')")
    expect(tab.locator("[data-status]")).to_have_text("available")

    _start_from_the_lot_page(tab, live_url, "T-150")
    expect(tab.locator("[data-plan]")).to_have_text(
        "normal, level II, AQL 1.0, code F → E: n = 13, Ac 0, Re 1"
    )
    _record(tab, conforming=True)
    _record(tab, conforming=False, defect_code="PLATING")
    expect(tab.locator(".notice")).to_have_text("Lot 'T-150' is rejected.")
    expect(tab.locator("[data-decision]")).to_have_text("rejected")
    expect(tab.locator("[data-defects]")).to_have_text("1")
    expect(tab.locator("table tbody tr").nth(1).locator("td")).to_have_text(
        ["2", "nonconforming", "PLATING", "quinn"]
    )
    tab.click("a:has-text('The lot')")
    expect(tab.locator("[data-status]")).to_have_text("quarantine")
    expect(tab.locator(".why")).to_contain_text(
        "rejected the lot: 1 nonconforming in 2 samples (Ac 0, Re 1)"
    )
