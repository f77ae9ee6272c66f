"""Labels and travellers: the PDF a printer gets really scans back (rendered to pixels with
pdfium, decoded with zxing-cpp) as the GS1 data the station resolves, SVG and ZPL carry the same
data, and the station's scan field opens the item a label names."""

from __future__ import annotations

import re
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from sqlalchemy import select
from test_web_api_flow import released_unit
from web_support import Api, sign_in

from dsl.model import Plant
from engine.commands import versions
from engine.floor import gs1
from engine.infra.db import Database
from engine.records.tables import Lot
from web.labels import zpl_barcode_data, zpl_field_text

HA_100_GTIN = "04012345000108"


def _lot(db: Database, number: str) -> Lot:
    with db.session() as session:
        lot = session.scalar(select(Lot).where(Lot.number == number))
        assert lot is not None
        session.expunge(lot)
        return lot


def _scanned(pdf: bytes, page: int = 0) -> list[Any]:
    """Every barcode zxing-cpp reads on a page of the PDF, rendered at 288 dpi."""
    image = pypdfium2.PdfDocument(pdf)[page].render(scale=4).to_pil()
    return list(zxingcpp.read_barcodes(image))


def test_a_lot_label_pdf_scans_back_as_its_part_lot_and_expiry(
    api: Api, shop: Plant, db: Database
) -> None:
    lot = _lot(db, "T-001")
    assert lot.expires_on is not None
    response = api.get(f"/api/labels/lot/{lot.id}.pdf", "anna")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    (found,) = _scanned(response.data)
    assert found.format == zxingcpp.BarcodeFormat.Code128
    assert found.content_type == zxingcpp.ContentType.GS1
    expiry = gs1.yymmdd(lot.expires_on)
    assert found.text == f"(17){expiry}(240)TERM-22(10)T-001"
    read = gs1.parse(found.text)
    assert (read.product_id, read.lot, read.expiry) == ("TERM-22", "T-001", lot.expires_on)


def test_a_unit_label_carries_the_products_gtin_and_the_serial(api: Api, shop: Plant) -> None:
    unit = released_unit(api)
    response = api.get(f"/api/labels/item/{unit}.pdf", "sam")
    assert response.status_code == 200
    (found,) = _scanned(response.data)
    assert found.text == f"(01){HA_100_GTIN}(21){unit}"


def test_svg_and_zpl_carry_the_same_data(api: Api, shop: Plant, db: Database) -> None:
    lot = _lot(db, "H-001")
    svg = api.get(f"/api/labels/lot/{lot.id}.svg", "quinn")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert "(240)HOUSING-4P(10)H-001" in text
    assert "4-pole connector housing" in text
    assert text.count("<rect") > 20  # the bars
    zpl = api.get(f"/api/labels/lot/{lot.id}.zpl", "quinn")
    assert zpl.status_code == 200
    assert zpl.get_data(as_text=True).splitlines() == [
        "^XA^CI28^PW800^LL480",
        "^FO32,32^A0N,34,34^FH^FD4-pole connector housing^FS",
        "^FO32,80^A0N,26,26^FH^FDHOUSING-4P  ·  Lot H-001^FS",
        "^FO32,120^A0N,26,26^FH^FDQty 50 pcs^FS",
        "^FO32,176^BY2^BCN,128,N,N,N^FH^FD>:>8240HOUSING-4P>810H-001^FS",
        "^FO32,416^A0N,22,22^FH^FD(240)HOUSING-4P(10)H-001^FS",
        "^XZ",
    ]


def test_a_traveller_lists_the_operations_and_a_barcode_per_unit(api: Api, shop: Plant) -> None:
    created = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": 3})
    number = created.json["number"]
    units = api.post(f"/api/work-orders/{number}/release", "sam").json["items"]
    response = api.get(f"/api/work-orders/{number}/traveller.pdf", "anna")
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(response.data)
    text = document[0].get_textpage().get_text_range()
    for words in (f"Traveller {number}", "Cut and strip wire", "crimp", "test", "length"):
        assert words in text
    serials = sorted(gs1.parse(found.text).serial or "" for found in _scanned(response.data))
    assert serials == sorted(units)


def test_pages_and_api_refuse_what_does_not_exist(
    api: Api, shop: Plant, client: FlaskClient
) -> None:
    missing = api.get("/api/labels/lot/999.pdf", "anna")
    assert missing.status_code == 404
    assert missing.json["message"] == (
        "There is no lot 999; find the lot in the inventory and print again."
    )
    order = api.get("/api/work-orders/WO-404/traveller.pdf", "anna")
    assert order.status_code == 404
    assert order.json["message"] == (
        "There is no work order 'WO-404'; check the number on the dispatch list."
    )
    assert api.get("/api/labels/lot/1.pdf", "nobody").status_code == 403
    sign_in(client, "anna")
    page = client.get("/labels/item/NOPE-1.zpl")
    assert page.status_code == 404
    assert client.get("/labels/lot/1.txt").status_code == 404


@pytest.mark.parametrize("form", ["human", "scanner"])
def test_the_station_opens_the_unit_a_label_names(
    api: Api, shop: Plant, client: FlaskClient, form: str
) -> None:
    unit = released_unit(api)
    elements = [gs1.Element("01", HA_100_GTIN), gs1.Element("21", unit)]
    scan = gs1.human_readable(elements) if form == "human" else "]C1" + gs1.encode(elements)
    sign_in(client, "anna")
    response = client.get("/station/", query_string={"number": scan})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/station/{unit}")


def test_a_bad_label_scan_says_why(api: Api, shop: Plant, client: FlaskClient) -> None:
    sign_in(client, "anna")
    response = client.get("/station/", query_string={"number": "(01)04012345000109(21)X"})
    assert response.status_code == 422
    assert (
        "The scanned label is not valid: (01) GTIN &#39;04012345000109&#39;: the check digit is "
        "wrong." in response.get_data(as_text=True)
    )


def test_a_scanned_component_label_is_checked_by_its_lot(
    api: Api, shop: Plant, client: FlaskClient, db: Database
) -> None:
    unit = released_unit(api)
    assert api.post(f"/api/items/{unit}/operations/cut/start", "anna").status_code == 200
    lot = _lot(db, "W-001")
    label = [gs1.Element("240", "WIRE-18-RD"), gs1.Element("10", "W-001")]
    if lot.expires_on is not None:
        label.append(gs1.Element("17", gs1.yymmdd(lot.expires_on)))
    sign_in(client, "anna")
    checked = client.get(
        f"/station/{unit}/component",
        query_string={"part": "WIRE-18-RD", "lot": gs1.human_readable(label)},
    )
    assert checked.json == {"ok": True, "message": "W-001: 0.5 m of WIRE-18-RD"}


def test_zpl_escapes_what_the_printer_would_read_as_commands() -> None:
    assert zpl_barcode_data("10A>B\x1d21S_1") == ">:>810A><B>821S_1"
    assert zpl_field_text("50% ^off ~now_") == "50% _5Eoff _7Enow_5F"


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_a_datamatrix_label_scans_back_as_gs1_with_fnc1(
    api: Api, shop: Plant, db: Database, fmt: str
) -> None:
    lot = _lot(db, "T-001")
    assert lot.expires_on is not None
    response = api.get(f"/api/labels/lot/{lot.id}.{fmt}?symbol=datamatrix", "anna")
    assert response.status_code == 200
    if fmt == "pdf":
        (found,) = _scanned(response.data)
    else:
        (found,) = _scanned_svg(response.data)
    assert found.format == zxingcpp.BarcodeFormat.DataMatrix
    assert (found.symbology_identifier, found.content_type) == ("]d2", zxingcpp.ContentType.GS1)
    expiry = gs1.yymmdd(lot.expires_on)
    assert found.text == f"(17){expiry}(240)TERM-22(10)T-001"
    assert found.bytes == f"17{expiry}240TERM-22\x1d10T-001".encode()  # FNC1 → GS
    read = gs1.parse("]d2" + found.bytes.decode())
    assert (read.product_id, read.lot, read.expiry) == ("TERM-22", "T-001", lot.expires_on)


def _scanned_svg(svg: bytes) -> list[Any]:
    """The barcodes on a reportlab SVG label: its black rectangles painted on a bitmap, 4 pixels
    a point (reportlab draws upwards in a group flipped by ``scale(1,-1) translate(0,-H)``)."""
    scale = 4
    text = svg.decode()
    flip = float(re.findall(r'transform="scale\(1,-1\) translate\(0,-([\d.]+)\)"', text)[0])
    image = Image.new("L", (int(300 * scale), int(flip * scale)), 255)
    draw = ImageDraw.Draw(image)
    rects = re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" '
        r'style="[^"]*fill: rgb\(0%,0%,0%\)',
        text,
    )
    for x, y, w, h in (tuple(map(float, r)) for r in rects):
        top = (flip - y - h) * scale
        draw.rectangle((x * scale, top, (x + w) * scale - 1, top + h * scale - 1), fill=0)
    return list(zxingcpp.read_barcodes(image))


def test_a_datamatrix_label_in_zpl_writes_fnc1_as_the_escape_sequence(
    api: Api, shop: Plant, db: Database
) -> None:
    lot = _lot(db, "H-001")
    zpl = api.get(f"/api/labels/lot/{lot.id}.zpl?symbol=datamatrix", "quinn")
    assert zpl.status_code == 200
    assert "^FO32,176^BXN,6,200,0,0,6,`,1^FD`1240HOUSING-4P`110H-001^FS" in (
        zpl.get_data(as_text=True).splitlines()
    )
    wrong = api.get(f"/api/labels/lot/{lot.id}.zpl?symbol=qr", "quinn")
    assert (wrong.status_code, wrong.json["message"]) == (
        400,
        "symbol: 'qr' is no barcode Ferrule prints; use gs1-128 or datamatrix.",
    )


def test_a_site_that_prints_datamatrix_gets_it_without_asking(
    api: Api, shop: Plant, db: Database
) -> None:
    site = shop.files["site.yaml"]
    assert "  fefo: propose\n" in site
    datamatrix = site.replace("  fefo: propose\n", "  fefo: propose\n  label_barcode: datamatrix\n")
    versions.deploy(db, {**shop.files, "site.yaml": datamatrix}, actor="admin", note="labels")
    lot = _lot(db, "H-001")
    (found,) = _scanned(api.get(f"/api/labels/lot/{lot.id}.pdf", "quinn").data)
    assert (found.format, found.text) == (
        zxingcpp.BarcodeFormat.DataMatrix,
        "(240)HOUSING-4P(10)H-001",
    )
    asked = _scanned(api.get(f"/api/labels/lot/{lot.id}.pdf?symbol=gs1-128", "quinn").data)
    assert [found.format for found in asked] == [zxingcpp.BarcodeFormat.Code128]
