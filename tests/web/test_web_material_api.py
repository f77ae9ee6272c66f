"""The materials API: ERP books deliveries in (certificate as base64), quality releases them with
an e-signature, stores moves and kits them; every answer is checked against the OpenAPI
document."""

from __future__ import annotations

import base64
import hashlib

import pytest
from testdata import PASSWORD
from web_support import Api

from dsl.model import Plant
from engine.access import people
from engine.infra.db import Database

COA = b"%PDF-1.4 CoA: wire 18 AWG, conductor resistance 21 mohm/m\n%%EOF"
RELEASED = "Released for production use"


@pytest.fixture
def erp(db: Database, plant: Plant, users: object) -> str:
    """The ERP's user: a goods-in clerk (role ``stores``)."""
    with db.transaction() as session:
        people.create_user(session, "erp", actor="test")
        people.grant_role(session, "erp", "stores", actor="test", plant=plant)
    return "erp"


def _receipt(**extra: object) -> dict[str, object]:
    return {"part": "TERM-22", "supplier_lot": "T-77", "quantity": 5000, **extra}


def test_erp_receives_a_quarantined_lot_that_quality_releases_with_a_signature(
    api: Api, erp: str
) -> None:
    certificate = {
        "filename": "coa.pdf",
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(COA).decode(),
    }
    created = api.post(
        "/api/lots",
        erp,
        _receipt(supplier="Acme Terminals", certificate=certificate),
        headers={"Idempotency-Key": "asn-77"},
    )
    assert created.status_code == 201, created.json
    lot = created.json
    assert (lot["status"], lot["location"], lot["certificate_sha256"]) == (
        "quarantine",
        "goods-in",
        hashlib.sha256(COA).hexdigest(),
    )
    replay = api.post("/api/lots", erp, _receipt(supplier="Acme Terminals",
                      certificate=certificate), headers={"Idempotency-Key": "asn-77"})  # fmt: skip
    assert (replay.status_code, replay.json["id"]) == (201, lot["id"])
    file = api.get("/api/lots/TERM-22/T-77/certificate", erp)
    assert (file.status_code, file.data) == (200, COA)
    assert file.headers["ETag"] == f'"{hashlib.sha256(COA).hexdigest()}"'

    unsigned = api.post(
        "/api/lots/TERM-22/T-77/status", "quinn", {"action": "release", "reason": "CoA ok"}
    )
    assert (unsigned.status_code, unsigned.json["message"]) == (
        403,
        "Releasing lot 'T-77' of part 'TERM-22' needs a signature by a user with the role "
        f"'quality' meaning '{RELEASED}'; sign with your username and password.",
    )
    signature = {"username": "quinn", "password": PASSWORD, "meaning": RELEASED}
    released = api.post(
        "/api/lots/TERM-22/T-77/status",
        "quinn",
        {"action": "release", "reason": "CoA ok", "signatures": [signature]},
    )
    assert (released.status_code, released.json["status"]) == (200, "available")
    moved = api.post("/api/lots/TERM-22/T-77/move", erp, {"location": "line-1"})
    assert moved.json["location"] == "line-1"
    detail = api.get("/api/lots/TERM-22/T-77", erp).json
    assert (detail["status"], detail["certificate_filename"]) == ("available", "coa.pdf")
    stock = api.get("/api/inventory?part=TERM-22", erp)
    assert [(r["location"], r["status"], r["quantity"]) for r in stock.json] == [
        ("line-1", "available", 5000)
    ]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            _receipt(location="cage"),
            422,
            "The plant declares no location 'cage'. Declared: goods-in, line-1, "
            "quarantine-cage, stores.",
        ),
        (
            _receipt(certificate={"filename": "coa.pdf", "content_base64": "not base64!"}),
            400,
            "certificate.content_base64: not valid base64; encode the file's bytes with base64.",
        ),
        (
            _receipt(quantity=0),
            422,
            "Received quantity must be a number more than 0 pcs; got 0.",
        ),
        (
            _receipt(expires_on="31.01.2027"),
            422,
            "'31.01.2027' is not a date; write it like 2027-01-31.",
        ),
        (
            {"part": "TERM-22", "quantity": 1},
            400,
            "supplier_lot: this field is required.",
        ),
    ],
)
def test_a_bad_receipt_gets_a_message_naming_the_fix(
    api: Api, erp: str, body: dict[str, object], status: int, message: str
) -> None:
    response = api.post("/api/lots", erp, body)
    assert (response.status_code, response.json["message"]) == (status, message)


def test_only_stores_roles_receive_and_only_supervisors_or_quality_change_status(
    api: Api, erp: str
) -> None:
    assert api.post("/api/lots", "anna", _receipt()).status_code == 403
    assert api.post("/api/lots", erp, _receipt()).status_code == 201
    held = api.post("/api/lots/TERM-22/T-77/status", erp, {"action": "hold", "reason": "x"})
    assert held.status_code == 403


def test_a_kit_shows_its_shortage_before_release_and_reserves_what_is_there(
    api: Api, erp: str
) -> None:
    order = api.post("/api/work-orders", "sam", {"product": "HA-100", "quantity": 4})
    number = order.json["number"]
    api.post("/api/lots", erp, {"part": "WIRE-18-RD", "supplier_lot": "W-1", "quantity": 10})
    api.post("/api/lots", erp, {"part": "HOUSING-4P", "supplier_lot": "H-1", "quantity": 3})
    kit = api.get(f"/api/work-orders/{number}/kit", erp).json
    assert (kit["complete"], kit["short"]) == (False, True)
    assert [(line["part"], line["short"]) for line in kit["lines"]] == [
        ("WIRE-18-RD", 0),
        ("TERM-22", 8),
        ("HOUSING-4P", 1),
    ]
    reserved = api.post(f"/api/work-orders/{number}/kit", erp)
    assert [line["reserved"] for line in reserved.json["lines"]] == [2, 0, 3]
    given_back = api.call("DELETE", f"/api/work-orders/{number}/kit", erp)
    assert [line["reserved"] for line in given_back.json["lines"]] == [0, 0, 0]
    missing = api.get("/api/work-orders/WO-NOPE/kit", erp)
    assert (missing.status_code, missing.json["message"]) == (
        404,
        "There is no work order 'WO-NOPE'; check the number.",
    )
