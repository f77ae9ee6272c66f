"""Nonconformances on units, lots and machines, decided by the site's material review board
(acme-harness: use as is needs quality + engineer, repair quality + supervisor, return to the
supplier quality + stores), with CAPA links, photos and a Pareto of defects."""
# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import select, update

from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import materials
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.audit import AuditTrail
from engine.infra.attachments import Upload
from engine.records.production import Signature
from engine.records.tables import User

ENGINEER, STORES = "erin", "gus"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
APPROVED, REJECTED = "Disposition approved", "Disposition rejected"


@pytest.fixture
def board(line: Line, password_hash: str) -> Line:
    """The line with a goods-in clerk, a supplier lot of terminals from Molex and one of
    housings from TE."""
    db = line.engine.db
    with db.transaction() as session:
        people.create_user(session, STORES, actor="setup", full_name="Gus Goods-in")
        people.grant_role(session, STORES, "stores", actor="setup", plant=line.plant)
        session.execute(update(User).values(password_hash=password_hash))
        materials.receive_lot(
            session, line.plant, "TERM-22", "T-900", 500.0, actor="setup", supplier="Molex",
            supplier_lot="MX-4471",
        )  # fmt: skip
        materials.receive_lot(
            session, line.plant, "HOUSING-4P", "H-900", 40.0, actor="setup", supplier="TE"
        )
    return line


def _signed(shop: Line, who: str, meaning: str = APPROVED) -> SignatureInput:
    return SignatureInput(who, shop.password, meaning)


def _intact(shop: Line) -> None:
    verdict = AuditTrail(shop.engine.db).verify()
    assert verdict.ok, verdict.problem


def test_use_as_is_waits_for_both_signatures_of_the_board(board: Line) -> None:
    shop = board
    (unit,) = shop.release(1)
    nc = shop.engine.open_nonconformance(
        actor=shop.operator, item=unit, defect_code="nicked-insulation", description="nick 2 mm"
    )
    proposed = shop.engine.disposition(
        actor=shop.quality, nonconformance_id=nc.id, decision="use_as_is",
        reason="cosmetic, outside the seal zone", signature=_signed(shop, shop.quality),
    )  # fmt: skip
    assert proposed.open and proposed.decision is None
    assert proposed.pending is not None
    assert (proposed.pending.required_roles, proposed.pending.missing_roles) == (
        ("quality", "engineer"),
        ("engineer",),
    )
    assert shop.engine.item(unit).status == "nonconforming"
    with pytest.raises(Forbidden) as twice:
        shop.engine.sign_disposition(
            actor=shop.quality, nonconformance_id=nc.id, signature=_signed(shop, shop.quality)
        )
    assert twice.value.message == (
        f"User '{shop.quality}' may not sign the disposition of nonconformance #{nc.id}: that "
        "needs the role 'engineer'; ask an admin to grant it."
    )
    decided = shop.engine.sign_disposition(
        actor=ENGINEER, nonconformance_id=nc.id, signature=_signed(shop, ENGINEER)
    )
    assert (decided.decision, decided.decided_by, decided.open) == ("use_as_is", "quinn", False)
    (only,) = decided.dispositions
    assert [(s.username, s.role, s.meaning) for s in only.signatures] == [
        ("quinn", "quality", APPROVED),
        ("erin", "engineer", APPROVED),
    ]
    item = shop.engine.item(unit)
    assert (item.status, item.current_operation) == ("queued", "cut")
    with shop.engine.db.session() as session:
        digests = session.scalars(
            select(Signature.content_hash).where(Signature.record_type == "disposition")
        ).all()
    assert len(digests) == 2 and len(set(digests)) == 1  # both bound to the same content
    _intact(shop)


def test_a_rejection_voids_the_proposal_and_needs_a_reason(board: Line) -> None:
    shop = board
    (unit,) = shop.release(1)
    nc = shop.engine.open_nonconformance(
        actor=shop.operator, item=unit, defect_code="burr", description="burr on pin 3"
    )
    shop.engine.disposition(
        actor=shop.quality, nonconformance_id=nc.id, decision="repair", reason="deburr pin 3",
        signature=_signed(shop, shop.quality),
    )  # fmt: skip
    with pytest.raises(Conflict) as again:
        shop.engine.disposition(
            actor=shop.quality, nonconformance_id=nc.id, decision="scrap", reason="scrap it",
            signature=_signed(shop, shop.quality),
        )  # fmt: skip
    assert again.value.message == (
        f"Nonconformance #{nc.id} already has a repair disposition waiting for the signature of "
        "supervisor; sign or reject it first."
    )
    with pytest.raises(Invalid) as silent:
        shop.engine.sign_disposition(
            actor=shop.supervisor, nonconformance_id=nc.id,
            signature=_signed(shop, shop.supervisor, REJECTED),
        )  # fmt: skip
    assert silent.value.message == (
        f"Give a reason to reject the disposition of nonconformance #{nc.id}; it goes into the "
        "record and the audit trail."
    )
    rejected = shop.engine.sign_disposition(
        actor=shop.supervisor, nonconformance_id=nc.id, reason="pin 3 is plated; no deburring",
        signature=_signed(shop, shop.supervisor, REJECTED),
    )  # fmt: skip
    assert rejected.open and rejected.pending is None
    assert [d.status for d in rejected.dispositions] == ["rejected"]
    scrapped = shop.engine.disposition(
        actor=shop.quality, nonconformance_id=nc.id, decision="scrap", reason="plated pin",
        signature=_signed(shop, shop.quality),
    )  # fmt: skip
    assert scrapped.decision == "scrap"  # quality alone scraps
    assert [d.status for d in scrapped.dispositions] == ["rejected", "effective"]
    assert shop.engine.item(unit).status == "scrapped"
    _intact(shop)


def test_a_supplier_lot_is_held_and_part_of_it_returned(board: Line) -> None:
    shop = board
    nc = shop.engine.open_nonconformance(
        actor=shop.quality, part="TERM-22", lot="T-900", defect_code="supplier-defect",
        description="crimp barrels split on 40 terminals", quantity=40,
    )  # fmt: skip
    assert (nc.subject, nc.quantity) == ("lot TERM-22/T-900", 40)
    with shop.engine.db.session() as session:
        held = materials.lot_row(session, "TERM-22", "T-900")
        assert (held.status, held.hold_reason) == (
            "on_hold",
            f"NC-{nc.id:04d} supplier-defect: crimp barrels split on 40 terminals",
        )
    with pytest.raises(Invalid) as rework:
        shop.engine.disposition(
            actor=shop.quality, nonconformance_id=nc.id, decision="rework", reason="sort",
            signature=_signed(shop, shop.quality),
        )  # fmt: skip
    assert rework.value.message == (
        "A lot cannot be dispositioned rework; choose one of use_as_is, repair, scrap, "
        "return_to_vendor."
    )
    shop.engine.disposition(
        actor=shop.quality, nonconformance_id=nc.id, decision="return_to_vendor",
        reason="RMA 88-104", signature=_signed(shop, shop.quality),
    )  # fmt: skip
    decided = shop.engine.sign_disposition(
        actor=STORES, nonconformance_id=nc.id, signature=_signed(shop, STORES)
    )
    assert decided.decision == "return_to_vendor"
    with shop.engine.db.session() as session:
        lot = materials.lot_row(session, "TERM-22", "T-900")
        assert (lot.status, lot.quantity, lot.hold_reason) == ("available", 460.0, "")
    _intact(shop)


def test_a_machine_is_used_as_is_or_repaired_only(board: Line) -> None:
    shop = board
    nc = shop.engine.open_nonconformance(
        actor=shop.operator, equipment="crimp-press-1", defect_code="crimp-height",
        description="anvil worn",
    )  # fmt: skip
    assert (nc.subject, nc.item, nc.equipment) == ("equipment crimp-press-1", None, "crimp-press-1")
    with pytest.raises(Invalid) as scrap:
        shop.engine.disposition(
            actor=shop.quality, nonconformance_id=nc.id, decision="scrap", reason="worn",
            signature=_signed(shop, shop.quality),
        )  # fmt: skip
    assert scrap.value.message == (
        "A machine cannot be dispositioned scrap; choose one of use_as_is, repair."
    )


def test_what_a_nonconformance_is_opened_with_is_checked(board: Line) -> None:
    shop = board
    (unit,) = shop.release(1)
    with pytest.raises(Invalid) as code:
        shop.engine.open_nonconformance(
            actor=shop.operator, item=unit, defect_code="nicked-insulaton", description="nick"
        )
    assert code.value.message == (
        "'nicked-insulaton' is not a defect code of site 'acme-harness'; did you mean "
        "'nicked-insulation'?"
    )
    with pytest.raises(Invalid) as two:
        shop.engine.open_nonconformance(
            actor=shop.operator, item=unit, equipment="crimp-press-1", defect_code="burr",
            description="burr",
        )  # fmt: skip
    assert two.value.message == (
        "Say what the nonconformance is about: one unit or lot being made (item), one lot of "
        "material (part and lot), or one machine (equipment)."
    )
    with pytest.raises(Invalid) as much:
        shop.engine.open_nonconformance(
            actor=shop.quality, part="HOUSING-4P", lot="H-900", defect_code="supplier-defect",
            description="cracked", quantity=41,
        )  # fmt: skip
    assert much.value.message == "The quantity affected (41 pcs) is more than there is (40 pcs)."


def test_capa_links_and_photos(board: Line) -> None:
    shop = board
    (unit,) = shop.release(1)
    nc = shop.engine.open_nonconformance(
        actor=shop.operator, item=unit, defect_code="burr", description="burr on pin 1"
    )
    linked = shop.engine.link_capa(actor=shop.quality, nonconformance_id=nc.id, capa="CAPA-0042")
    assert (linked.capa, linked.capa_url) == (
        "CAPA-0042",
        "https://qms.acme.example/capa/CAPA-0042",
    )
    with pytest.raises(Invalid) as fake:
        shop.engine.add_nonconformance_photo(
            actor=shop.operator, nonconformance_id=nc.id,
            photo=Upload("burr.png", "image/png", b"<svg onload=alert(1)>"),
        )  # fmt: skip
    assert fake.value.message == (
        "'burr.png' is not a JPEG, PNG or WebP photo; take the photo again or convert it."
    )
    shown = shop.engine.add_nonconformance_photo(
        actor=shop.operator, nonconformance_id=nc.id,
        photo=Upload("burr.jpg", "application/octet-stream", PNG),
    )  # fmt: skip
    (digest,) = shown.photos
    stored = shop.engine.nonconformance_photo(nc.id, digest)
    assert (stored.media_type, stored.content) == ("image/png", PNG)
    _intact(shop)


def test_a_pareto_counts_by_defect_code_and_supplier(board: Line) -> None:
    shop = board
    units = shop.release(3)
    for unit, code in zip(units, ("burr", "burr", "crimp-height"), strict=True):
        shop.engine.open_nonconformance(
            actor=shop.operator, item=unit, defect_code=code, description="found at test"
        )
    shop.engine.open_nonconformance(
        actor=shop.quality, part="HOUSING-4P", lot="H-900", defect_code="supplier-defect",
        description="cracked latch",
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    since, until = now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1)
    by_code = shop.engine.nonconformance_pareto(by="defect_code", since=since, until=until)
    assert [(b.name, b.count, b.cumulative_percent) for b in by_code.bars] == [
        ("burr", 2, 50.0),
        ("crimp-height", 1, 75.0),
        ("supplier-defect", 1, 100.0),
    ]
    by_supplier = shop.engine.nonconformance_pareto(by="supplier", since=since, until=until)
    assert [(b.name, b.count) for b in by_supplier.bars] == [("(none)", 3), ("TE", 1)]
    with pytest.raises(Invalid) as wrong:
        shop.engine.nonconformance_pareto(by="shift", since=since, until=until)
    assert wrong.value.message == (
        "A Pareto cannot be drawn by 'shift'; use one of defect_code, operation, equipment, "
        "supplier"
    )
