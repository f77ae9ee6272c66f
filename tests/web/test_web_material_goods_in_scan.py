"""Goods-in by scan: a supplier's GS1 label fills in the part, lot, quantity and dates."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from web_support import alerts_of, sign_in

from dsl.model import Plant
from engine.access import people
from engine.infra.db import Database
from engine.records.tables import User

GS = "\x1d"


@pytest.fixture
def gina(db: Database, stocked: Plant, password_hash: str) -> str:
    """A goods-in clerk."""
    with db.transaction() as session:
        people.create_user(session, "gina", actor="test")
        people.grant_role(session, "gina", "stores", actor="test", plant=stocked)
        session.execute(
            update(User).where(User.username == "gina").values(password_hash=password_hash)
        )
    return "gina"


def _scanned(client: FlaskClient, scan: str) -> tuple[int, str]:
    page = client.get("/materials/goods-in", query_string={"scan": scan})
    return page.status_code, html.unescape(page.get_data(as_text=True))


def test_a_scanned_gs1_label_fills_in_the_goods_in_form(
    line_client: FlaskClient, gina: str
) -> None:
    csrf = sign_in(line_client, gina)
    # as a scanner sends it: symbology prefix, FNC1 as GS after each variable-length field
    status, page = _scanned(
        line_client, "]C1" + "1727063011260901241TERM-22" + GS + "10S-88" + GS + "30500"
    )
    assert status == 200
    for field, value in (
        ("part", "TERM-22"),
        ("supplier_lot", "S-88"),
        ("quantity", "500"),
        ("expires_on", "2027-06-30"),
        ("manufactured_on", "2026-09-01"),
    ):
        assert f'id="{field}" name="{field}"' in page
        assert f'value="{value}"' in page.split(f'id="{field}"', 1)[1].split(">", 1)[0]
    booked = line_client.post(
        "/materials/goods-in",
        data={"csrf_token": csrf, "part": "TERM-22", "supplier_lot": "S-88", "quantity": "500",
              "expires_on": "2027-06-30", "manufactured_on": "2026-09-01"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert booked.headers["Location"] == "/materials/lots/TERM-22/S-88"


def test_a_label_naming_no_part_of_the_site_or_no_gs1_says_so(
    line_client: FlaskClient, gina: str
) -> None:
    sign_in(line_client, gina)
    unknown = line_client.get(
        "/materials/goods-in", query_string={"scan": "(01)09501101020917(10)X-1(3101)000125"}
    )
    page = html.unescape(unknown.get_data(as_text=True))
    assert unknown.status_code == 200
    assert alerts_of(unknown) == [
        "The label names GTIN 09501101020917, which is no part of this site; choose the part."
    ]
    assert 'value="12.5"' in page and 'value="X-1"' in page
    unit = page.split('id="unit"', 1)[1].split(">", 1)[0]
    assert 'value="kg"' in unit
    bad = line_client.get("/materials/goods-in", query_string={"scan": "(17)271341"})
    assert bad.status_code == 422
    assert alerts_of(bad) == ["'271341' is not a date: the month 13 is not 01 to 12."]
    plain = line_client.get("/materials/goods-in", query_string={"scan": "T-77"})
    assert alerts_of(plain) == [
        "'T-77' is not a GS1 label; scan the supplier's GS1 barcode, or type the part and the lot "
        "below."
    ]
