"""The record pages and API: a record read exceptions first, exceptions acknowledged, a signed
release that locks the record, the PDF and printable HTML with page numbers and the hash."""

from __future__ import annotations

import io
import re

import pikepdf
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from testdata import PASSWORD
from web_support import Api, alerts_of, sign_in

from dsl.model import Plant
from engine.access.signatures import SignatureInput
from engine.commands.bom import ConsumptionInput
from engine.facade.audit import AuditTrail
from engine.infra.db import Database
from web.pdf_archive import unembedded_fonts

CUT = {"length": 500.8, "strip_length": 7.0}  # inside the field's limits, outside the gate's
CRIMP = {"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"}


def finished_unit(app: Flask) -> str:
    """A unit cut out of its gate (held, released by sam), crimped and tested (signed by quinn):
    its record has three exceptions."""
    ferrule = app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=1)
    (unit,) = ferrule.release_work_order(actor="sam", number=order.number).items
    steps = (
        ("cut", CUT, ConsumptionInput("WIRE-18-RD", "W-001"), ()),
        ("crimp", CRIMP, ConsumptionInput("TERM-22", "T-001"), ()),
        ("test", {}, ConsumptionInput("HOUSING-4P", "H-001"),
         (SignatureInput("quinn", PASSWORD, "Reviewed and approved"),)),
    )  # fmt: skip
    for operation, data, consumed, signatures in steps:
        ferrule.start_operation(actor="anna", item=unit, operation=operation)
        ferrule.complete_operation(
            actor="anna", item=unit, operation=operation, data=data, consume=[consumed],
            signatures=signatures,
        )  # fmt: skip
        if operation == "cut":
            ferrule.release(actor="sam", item=unit, reason="Length accepted by engineering")
    return str(unit)


def _page(client: FlaskClient, unit: str) -> str:
    response = client.get(f"/records/item/{unit}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _form_values(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', page)


def test_the_record_opens_on_its_exceptions_and_releases_under_signature(
    line_app: Flask, line_client: FlaskClient, db: Database
) -> None:
    unit = finished_unit(line_app)
    csrf = sign_in(line_client, "quinn")
    page = _page(line_client, unit)
    assert page.index('id="exceptions"') < page.index("Operations (3)")
    keys = _form_values(page, "key")
    assert keys == ["run:1:gate:cut length", "hold:1", "release:2"]
    refused = line_client.post(
        f"/records/item/{unit}/acknowledge",
        data={"csrf_token": csrf, "key": keys[0], "comment": " "},
    )
    assert refused.status_code == 422
    assert alerts_of(refused) == [
        "Give a comment to acknowledge an exception; it goes into the record and the audit trail."
    ]
    for key in keys:
        done = line_client.post(
            f"/records/item/{unit}/acknowledge",
            data={"csrf_token": csrf, "key": key, "comment": "ECO-12 widens the cut tolerance"},
        )
        assert done.status_code == 303
    wrong = line_client.post(
        f"/records/item/{unit}/decision",
        data={"csrf_token": csrf, "decision": "released", "password": "not my password"},
    )
    assert wrong.status_code == 403
    assert alerts_of(wrong) == [
        "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
        "username and password."
    ]
    released = line_client.post(
        f"/records/item/{unit}/decision",
        data={"csrf_token": csrf, "decision": "released", "password": PASSWORD},
        follow_redirects=True,
    )
    text = released.get_data(as_text=True)
    assert f"The record of {unit} was released, signed by quinn." in text
    assert '<span class="badge review-released" data-review-status>released</span>' in text
    assert "data-decision-form" not in text
    assert "ECO-12 widens the cut tolerance" in text
    assert AuditTrail(db).verify().ok


def test_the_pdf_and_printable_html_carry_page_numbers_and_the_hash(
    line_app: Flask, line_client: FlaskClient, stocked: Plant
) -> None:
    unit = finished_unit(line_app)
    sign_in(line_client, "quinn")
    response = line_client.get(f"/records/item/{unit}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="item-{unit}.pdf"'
    digest = response.headers["X-Content-SHA256"]
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"content SHA-256 {digest}" in text
    assert f"Device history record {unit}" in pages[0]
    assert "gate 'cut length' failed (length = 500.8 mm)" in pages[0]
    with pikepdf.open(io.BytesIO(response.data)) as archived:  # PDF/A-2b, property by property
        meta = archived.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert meta["dc:title"] == f"Device history record {unit}"
        (intent,) = archived.Root.OutputIntents
        assert (intent.S, intent.DestOutputProfile.N) == (pikepdf.Name.GTS_PDFA1, 3)
        assert unembedded_fonts(archived) == []
        assert not archived.is_encrypted and "/ID" in archived.trailer
    printable = line_client.get(f"/records/item/{unit}/print").get_data(as_text=True)
    assert f'<link rel="stylesheet" href="/records/item/{unit}/print.css">' in printable
    assert f'<span class="hash">{digest}</span>' in printable
    style = line_client.get(f"/records/item/{unit}/print.css")
    assert style.mimetype == "text/css"
    css = style.get_data(as_text=True)
    assert '"Page " counter(page) " of " counter(pages)' in css
    assert f'content: "Device history record {unit} · open · content SHA-256 {digest}"' in css


def test_the_api_gives_the_record_as_json_and_pdf(api: Api, shop: Plant) -> None:
    unit = finished_unit(api.app)
    record = api.get(f"/api/records/item/{unit}", "anna")
    assert record.status_code == 200
    body = record.json
    assert body["header"]["number"] == unit
    assert body["open_exceptions"] == 3
    assert [e["kind"] for e in body["exceptions"]] == ["gate_failed", "hold", "override"]
    assert body["review"] == {
        **body["review"],
        "status": "open",
        "locked": False,
        "signed_hash": None,
    }
    pdf = api.get(f"/api/records/item/{unit}/pdf", "anna")
    assert pdf.headers["X-Content-SHA256"] == body["review"]["content_hash"]
    missing = api.get("/api/records/work_order/WO-NONE", "anna")
    assert (missing.status_code, missing.json["message"]) == (
        404,
        "There is no work order 'WO-NONE'; check the number.",
    )
    wrong_kind = api.get(f"/api/records/unit/{unit}", "anna")
    assert (wrong_kind.status_code, wrong_kind.json["message"]) == (
        422,
        "'unit' is not a kind of record; use one of item, work_order.",
    )


def test_only_readers_open_records_and_only_quality_acts(
    line_app: Flask, line_client: FlaskClient
) -> None:
    unit = finished_unit(line_app)
    csrf = sign_in(line_client, "anna")
    assert line_client.get(f"/records/item/{unit}").status_code == 403
    line_client.post("/signout", data={"csrf_token": csrf})
    csrf = sign_in(line_client, "sam")
    page = _page(line_client, unit)
    assert _form_values(page, "key") == []
    refused = line_client.post(
        f"/records/item/{unit}/acknowledge",
        data={"csrf_token": csrf, "key": "hold:1", "comment": "fine"},
    )
    assert refused.status_code == 403
    found = line_client.get("/records/?number=" + unit)
    assert found.headers["Location"] == f"/records/item/{unit}"
    order = line_app.extensions["ferrule"].ferrule.item(unit).work_order
    found = line_client.get("/records/?number=" + order)
    assert found.headers["Location"] == f"/records/work_order/{order}"
    nothing = line_client.get("/records/?number=NOPE")
    assert nothing.status_code == 404
    assert alerts_of(nothing) == ["There is no unit, lot or work order 'NOPE'; check the number."]
