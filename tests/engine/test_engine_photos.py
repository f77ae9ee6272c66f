"""Photos as a field of ``collect:``: the crimp's photo (acme-harness) is stored first, by its
SHA-256 (its type told by its bytes, size-capped), and the completion carries the hash, which
the record keeps; a hash of nothing stored, or no hash at all, is refused."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import hashlib

import pytest
from engine_exec_support import CRIMP_DATA, Line, line  # noqa: F401
from sqlalchemy import select
from testdata import ACME

from dsl.loader import load_or_raise
from engine.commands.bom import ConsumptionInput
from engine.errors import Invalid
from engine.facade.audit import AuditTrail
from engine.facade.records import Records
from engine.floor.validation import InvalidData, validate
from engine.infra.attachments import MAX_ATTACHMENT, Upload
from engine.records.production import Measurement

NORTHFIELD = ACME.parent / "northfield-machining"
PNG = b"\x89PNG\r\n\x1a\n" + b"crimp side view" * 4


def _crimp(shop: Line, unit: str, photo: str) -> str:
    shop.cut(unit)
    shop.engine.start_operation(actor=shop.operator, item=unit, operation="crimp")
    result = shop.engine.complete_operation(
        actor=shop.operator, item=unit, operation="crimp",
        data={**CRIMP_DATA, "photo": photo}, consume=[ConsumptionInput("TERM-22", "T-001")],
    )  # fmt: skip
    return result.route


def test_a_photo_is_stored_then_its_hash_completes_the_step(line: Line) -> None:
    shop = line
    stored = shop.engine.store_photo(
        actor=shop.operator, photo=Upload("IMG_0412.jpg", "application/octet-stream", PNG)
    )
    assert (stored.sha256, stored.media_type, stored.size) == (
        hashlib.sha256(PNG).hexdigest(),
        "image/png",
        len(PNG),
    )
    (unit,) = shop.release(1)
    assert _crimp(shop, unit, stored.sha256) == "next"
    with shop.engine.db.session() as session:
        kept = session.scalar(select(Measurement.value_text).where(Measurement.field == "photo"))
    assert kept == stored.sha256
    crimp = next(
        s for s in Records(shop.engine).record("item", unit).steps if s.operation == "crimp"
    )
    assert [(v.field, v.value) for v in crimp.values if v.field == "photo"] == [
        ("photo", stored.sha256)
    ]
    assert shop.engine.photo(stored.sha256).content == PNG
    assert AuditTrail(shop.engine.db).verify().ok


def test_what_is_not_a_stored_photo_is_refused(line: Line) -> None:
    shop = line
    with pytest.raises(Invalid) as script:
        shop.engine.store_photo(
            actor=shop.operator, photo=Upload("crimp.png", "image/png", b"<svg onload=x>")
        )
    assert script.value.message == (
        "'crimp.png' is not a JPEG, PNG or WebP photo; take the photo again or convert it."
    )
    with pytest.raises(Invalid) as large:
        shop.engine.store_photo(
            actor=shop.operator, photo=Upload("big.png", "image/png", PNG + bytes(MAX_ATTACHMENT))
        )
    assert large.value.message == (
        "The photo is 8.4 MB, more than the 8 MB allowed; scan it at a lower resolution."
    )
    (unit,) = shop.release(1)
    with pytest.raises(Invalid) as missing:
        _crimp(shop, unit, "0" * 64)
    assert missing.value.message == (
        "photo: no photo with SHA-256 000000000000… is stored; upload the photo first."
    )
    with pytest.raises(Invalid) as text:
        shop.engine.complete_operation(
            actor=shop.operator, item=unit, operation="crimp",
            data={**CRIMP_DATA, "photo": "IMG_0412.jpg"},
            consume=[ConsumptionInput("TERM-22", "T-001")],
        )  # fmt: skip
    assert text.value.message == (
        "photo: take the photo first; the value is the stored file's SHA-256 (64 hex digits)"
    )


def test_an_attachment_field_takes_any_stored_file_by_its_hash(line: Line) -> None:
    shop = line
    report = b"%PDF-1.7 CMM report of HM-4420 #17"
    digest = shop.engine.store_file(
        actor=shop.operator, upload=Upload("cmm-17.pdf", "application/pdf", report)
    )
    assert digest == hashlib.sha256(report).hexdigest()
    stored = shop.engine.stored_file(digest)
    assert (stored.filename, stored.content) == ("cmm-17.pdf", report)
    cmm = load_or_raise(NORTHFIELD).routing_for("HM-4420").operation("cmm")
    with pytest.raises(InvalidData) as bad:
        validate(cmm, {"cmm_report": "cmm-17.pdf"})
    assert bad.value.problems[0].message == (
        "cmm_report: attach the file first; the value is the stored file's SHA-256 (64 hex digits)"
    )
    with pytest.raises(Invalid) as photo:
        shop.engine.photo(digest)  # a PDF is no photo
    assert photo.value.message == (
        f"photo: no photo with SHA-256 {digest[:12]}… is stored; upload the photo first."
    )
