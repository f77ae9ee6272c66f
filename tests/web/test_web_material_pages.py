"""The stores pages through Flask's test client: goods-in with a certificate, the lot page's
signed release, the inventory, a kit's shortage and the station's FEFO proposal."""

from __future__ import annotations

import datetime as dt
import html
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pages_support import release_unit
from sqlalchemy import update
from testdata import PASSWORD
from web_support import alerts_of, sign_in

from dsl.model import Plant
from engine.access import people
from engine.commands.lots import Receipt
from engine.facade.materials import Materials
from engine.infra.db import Database
from engine.records.tables import User

COA = b"%PDF-1.4 CoA T-77\n%%EOF"


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


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _book_in(client: FlaskClient, csrf: str, **form: object) -> object:
    data = {"csrf_token": csrf, "part": "TERM-22", "supplier_lot": "T-77", **form}
    return client.post("/materials/goods-in", data=data, content_type="multipart/form-data")


def test_goods_in_books_a_delivery_in_and_keeps_the_form_when_something_is_missing(
    line_client: FlaskClient, gina: str
) -> None:
    csrf = sign_in(line_client, gina)
    page = line_client.get("/materials/goods-in?part=TERM-22")
    assert page.status_code == 200
    assert 'value="TERM-22"' in _text(page)
    assert '<option value="quarantine-cage" >quarantine-cage</option>' in _text(page)
    missing = _book_in(line_client, csrf)
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert alerts_of(missing) == ["Enter the quantity delivered."]
    assert 'value="T-77"' in _text(missing)
    booked = _book_in(
        line_client,
        csrf,
        quantity="500",
        supplier="Acme Terminals",
        certificate=(io.BytesIO(COA), "coa.pdf", "application/pdf"),
    )
    assert booked.status_code == 303  # type: ignore[attr-defined]
    assert booked.headers["Location"] == "/materials/lots/TERM-22/T-77"  # type: ignore[attr-defined]
    lot = _text(line_client.get("/materials/lots/TERM-22/T-77"))
    assert "Lot T-77 of TERM-22 booked in at goods-in: quarantine." in lot
    assert '<span class="badge status-quarantine" data-status>quarantine</span>' in lot
    certificate = line_client.get("/materials/lots/TERM-22/T-77/certificate")
    assert (certificate.status_code, certificate.data) == (200, COA)
    twice = _book_in(line_client, csrf, quantity="5")
    assert alerts_of(twice) == [
        "Lot 'T-77' of part 'TERM-22' was already received; give this delivery its own lot number."
    ]


def _stores(app: Flask) -> Materials:
    materials: Materials = app.extensions["ferrule"].materials
    return materials


def test_quality_releases_on_the_lot_page_with_a_signature(
    line_app: Flask, line_client: FlaskClient, gina: str
) -> None:
    _stores(line_app).receive(actor=gina, receipt=Receipt("TERM-22", "T-77", 50))
    csrf = sign_in(line_client, "quinn")
    page = _text(line_client.get("/materials/lots/TERM-22/T-77"))
    assert 'name="meaning" value="Released for production use"' in page
    form = {"csrf_token": csrf, "action": "release", "reason": "CoA ok"}
    wrong = line_client.post(
        "/materials/lots/TERM-22/T-77/status",
        data={
            **form,
            "signer": "quinn",
            "password": "wrong",
            "meaning": "Released for production use",
        },
    )
    assert wrong.status_code == 403
    assert alerts_of(wrong)[-1].startswith("The password for 'quinn' is wrong")
    done = line_client.post(
        "/materials/lots/TERM-22/T-77/status",
        data={
            **form,
            "signer": "quinn",
            "password": PASSWORD,
            "meaning": "Released for production use",
        },
    )
    assert done.status_code == 303
    assert _stores(line_app).lot("TERM-22", "T-77").status == "available"
    sign_in(line_client, "anna")
    assert line_client.get("/materials/goods-in").status_code == 403


def test_inventory_kit_shortage_and_the_stations_fefo_proposal(
    line_app: Flask, line_client: FlaskClient, gina: str
) -> None:
    stores = _stores(line_app)
    soon = dt.date.today() + dt.timedelta(days=30)
    stores.receive(actor=gina, receipt=Receipt("WIRE-18-RD", "W-SOON", 20, expires_on=soon))
    csrf = sign_in(line_client, gina)
    stock = _text(line_client.get("/materials/?part=WIRE-18-RD"))
    assert 'data-stock="WIRE-18-RD/goods-in/available"' in stock
    assert f'W-SOON</a>\n          <small class="muted">20 · exp {soon.isoformat()}' in stock
    ferrule = line_app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=100).number
    kit = line_client.get(f"/materials/kits/{order}")
    assert alerts_of(kit) == ["Short: stock cannot cover HOUSING-4P (50 pcs)."]
    reserved = line_client.post(f"/materials/kits/{order}", data={"csrf_token": csrf})
    assert reserved.status_code == 303
    assert "Kit of " + order + " reserved; short: HOUSING-4P 50 pcs." in _text(
        line_client.get(f"/materials/kits/{order}")
    )
    # W-SOON is kept for the kit: FEFO proposes it to the kitted order's units, not to others
    other = release_unit(line_app)
    unit = ferrule.release_work_order(actor="sam", number=order).items[0]
    sign_in(line_client, "anna")
    for item in (other, unit):
        ferrule.start_operation(actor="anna", item=item, operation="cut")
    proposed = (
        '<p class="muted" data-fefo="WIRE-18-RD">First to expire: lot <strong>W-SOON</strong> '
        f"(expires {soon.isoformat()})</p>"
    )
    assert proposed not in _text(line_client.get(f"/station/{other}"))
    station = _text(line_client.get(f"/station/{unit}"))
    assert proposed in station
