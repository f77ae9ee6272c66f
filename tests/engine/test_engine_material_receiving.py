"""Goods-in: a delivery becomes a lot in quarantine or available as its part says, at a declared
location, with its supplier lot, dates, a quantity in any compatible unit and a certificate of
analysis stored under its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from material_support import (
    CLERK,
    TODAY,
    assert_trail_intact,
    clerk,
    receive,
    stores,
)
from sqlalchemy import func, select

from dsl.model import Plant
from engine.commands.lots import Receipt
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.materials import Materials
from engine.infra.attachments import MAX_ATTACHMENT, Upload
from engine.infra.db import Database
from engine.records.tables import Attachment

__all__ = ["clerk", "stores"]  # fixtures

PDF = b"%PDF-1.4 certificate of analysis: tin plating 5.1 um, lot T-77\n%%EOF"


def test_a_quarantined_part_arrives_in_quarantine_at_the_first_location(
    db: Database, stores: Materials
) -> None:
    lot = stores.receive(
        actor=CLERK,
        receipt=Receipt(
            part="TERM-22",
            supplier_lot="  T-77 ",
            quantity=5000,
            supplier="Acme Terminals",
            manufactured_on=TODAY - dt.timedelta(days=30),
        ),
        certificate=Upload("coa-T-77.pdf", "application/pdf", PDF),
    )
    assert (lot.number, lot.supplier_lot, lot.status, lot.location, lot.quantity) == (
        "T-77",
        "T-77",
        "quarantine",
        "goods-in",
        5000,
    )
    # The shelf life (730 d) counts from the manufacture date, not from the day it arrived.
    assert lot.expires_on == TODAY - dt.timedelta(days=30) + dt.timedelta(days=730)
    assert lot.certificate_sha256 == hashlib.sha256(PDF).hexdigest()
    stored = stores.certificate(lot.certificate_sha256)
    assert (stored.filename, stored.media_type, stored.content) == (
        "coa-T-77.pdf",
        "application/pdf",
        PDF,
    )
    detail = stores.lot("TERM-22", "T-77")
    assert (detail.status, detail.certificate_filename) == ("quarantine", "coa-T-77.pdf")
    assert_trail_intact(db)


def test_the_same_certificate_is_stored_once_and_units_are_converted(
    db: Database, stores: Materials
) -> None:
    certificate = Upload("coa.pdf", "application/pdf", PDF)
    first = stores.receive(
        actor=CLERK,
        receipt=Receipt("WIRE-18-RD", "W-9", 2.5, unit="km", location="stores"),
        certificate=certificate,
    )
    second = stores.receive(
        actor=CLERK,
        receipt=Receipt("WIRE-18-RD", "W-10", 300, number="W-10-A"),
        certificate=certificate,
    )
    assert (first.quantity, first.unit, first.status, first.location) == (
        2500,
        "m",
        "available",
        "stores",
    )
    assert (second.number, second.supplier_lot) == ("W-10-A", "W-10")
    assert first.certificate_sha256 == second.certificate_sha256
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert_trail_intact(db)


def test_an_idempotent_receipt_books_the_lot_once(stores: Materials) -> None:
    receipt = Receipt("HOUSING-4P", "H-5", 200)
    first = stores.receive(actor=CLERK, receipt=receipt, idempotency_key="erp-asn-5")
    again = stores.receive(actor=CLERK, receipt=receipt, idempotency_key="erp-asn-5")
    assert again == first
    assert [row.quantity for row in stores.inventory(part="HOUSING-4P")] == [200]


@pytest.mark.parametrize(
    ("receipt", "error", "message"),
    [
        (
            Receipt("TERM-22", "T-1", 10, location="line1"),
            Invalid,
            "The plant declares no location 'line1'. Did you mean 'line-1'? Declared: goods-in, "
            "line-1, quarantine-cage, stores.",
        ),
        (
            Receipt("TERM-22", " ", 10),
            Invalid,
            "Scan or type the supplier's lot number.",
        ),
        (
            Receipt("WIRE-18-RD", "W-1", 10, unit="kg"),
            Invalid,
            "Part 'WIRE-18-RD' is counted in m; 10 kg cannot be converted. Enter the quantity "
            "in m.",
        ),
        (
            Receipt("TERM-22", "T-1", -3),
            Invalid,
            "Received quantity must be a number more than 0 pcs; got -3.",
        ),
        (
            Receipt("TERM-22", "T-1", 10, manufactured_on=TODAY + dt.timedelta(days=1)),
            Invalid,
            "The manufacture date 2026-11-04 is after today (2026-11-03); check the label.",
        ),
        (
            Receipt("TERM-22", "T-1", 10, expires_on=TODAY),
            Invalid,
            "The lot expired on 2026-11-03; expired material is not booked in. Check the label, "
            "or reject the delivery.",
        ),
        (
            Receipt(
                "TERM-22",
                "T-1",
                10,
                manufactured_on=TODAY - dt.timedelta(days=5),
                expires_on=TODAY - dt.timedelta(days=6),
            ),
            Invalid,
            "The expiry date 2026-10-28 is not after the manufacture date 2026-10-29; check the "
            "label.",
        ),
    ],
)
def test_a_bad_receipt_is_refused_with_a_fix(
    stores: Materials, receipt: Receipt, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as refused:
        stores.receive(actor=CLERK, receipt=receipt)
    assert refused.value.message == message  # type: ignore[attr-defined]


def test_receiving_twice_an_oversized_certificate_or_the_wrong_role_is_refused(
    db: Database, plant: Plant, stores: Materials, users: object
) -> None:
    receive(stores, "TERM-22", "T-1", 10)
    with pytest.raises(Conflict) as twice:
        receive(stores, "TERM-22", "T-1", 10)
    assert twice.value.message == (
        "Lot 'T-1' of part 'TERM-22' was already received; give this delivery its own lot number."
    )
    too_big = Upload("scan.tiff", "image/tiff", b"x" * (MAX_ATTACHMENT + 1))
    with pytest.raises(Invalid) as big:
        stores.receive(actor=CLERK, receipt=Receipt("TERM-22", "T-2", 1), certificate=too_big)
    assert big.value.message == (
        "The certificate is 8.4 MB, more than the 8 MB allowed; scan it at a lower resolution."
    )
    with pytest.raises(Invalid) as empty:
        stores.receive(
            actor=CLERK,
            receipt=Receipt("TERM-22", "T-2", 1),
            certificate=Upload("coa.pdf", "", b""),
        )
    assert empty.value.message == "The certificate is an empty file; scan it again."
    with pytest.raises(Forbidden) as operator:
        stores.receive(actor="olga", receipt=Receipt("TERM-22", "T-3", 1))
    assert operator.value.message == (
        "User 'olga' may not receive a lot: that needs the role 'quality' or 'stores' or "
        "'supervisor'; ask an admin to grant it."
    )
