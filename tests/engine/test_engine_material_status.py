"""Lot status: quarantine → released (quality, e-signed where the site asks) → on hold ↔ released
→ consumed / expired / scrapped; consumption refuses every lot that is not released; split,
merge and moves keep their genealogy links and audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import line
from material_support import (
    CLERK,
    NOW,
    TODAY,
    assert_trail_intact,
    clerk,
    receive,
    stores,
)

from engine.access.signatures import SignatureInput
from engine.commands.bom import ConsumptionInput
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.materials import LotLinkInfo, Materials
from engine.infra import audit
from engine.infra.db import Database

__all__ = ["clerk", "line", "stores"]  # fixtures

RELEASED = "Released for production use"


def _at_crimp(line: object) -> str:
    """A unit cut and waiting at crimp (which consumes TERM-22)."""
    (unit,) = line.release()  # type: ignore[attr-defined]
    assert line.cut(unit) == "next"  # type: ignore[attr-defined]
    return unit


def _scan(line: object, unit: str, lot: str) -> str:
    """What the station says of a scanned TERM-22 lot: its plan, or why it cannot be used."""
    try:
        planned = line.engine.check_component(  # type: ignore[attr-defined]
            item=unit, scanned=ConsumptionInput("TERM-22", lot)
        )
    except Invalid as refused:
        return refused.message
    return f"ok: {planned.quantity:g} {planned.unit}"


def test_a_quarantined_lot_is_consumed_only_once_quality_signs_its_release(
    db: Database, stores: Materials, line: object
) -> None:
    unit = _at_crimp(line)
    receive(stores, "TERM-22", "T-77", 500)
    assert _scan(line, unit, "T-77") == (
        "Lot 'T-77' of part 'TERM-22' is in quarantine: quality has not released it yet; use a "
        "released lot."
    )
    with pytest.raises(Forbidden) as clerk_release:
        stores.change_status(
            actor=CLERK, action="release", part="TERM-22", lot="T-77", reason="CoA ok"
        )
    assert clerk_release.value.message == (
        "User 'gina' may not release a lot from quarantine: that needs the role 'quality'; ask "
        "an admin to grant it."
    )
    with pytest.raises(Forbidden) as unsigned:
        stores.change_status(
            actor="quinn", action="release", part="TERM-22", lot="T-77", reason="CoA ok"
        )
    assert unsigned.value.message == (
        "Releasing lot 'T-77' of part 'TERM-22' needs a signature by a user with the role "
        f"'quality' meaning '{RELEASED}'; sign with your username and password."
    )
    password = line.password  # type: ignore[attr-defined]
    released = stores.change_status(
        actor="quinn",
        action="release",
        part="TERM-22",
        lot="T-77",
        reason="CoA matches the specification",
        signatures=[SignatureInput("quinn", password, RELEASED)],
    )
    assert released.status == "available"
    assert _scan(line, unit, "T-77") == "ok: 2 pcs"
    with db.session() as session:
        history = audit.history(session, "lot", released.id)
    assert [(row["action"], row["actor"]) for row in history] == [
        ("receive", CLERK),
        ("release", "quinn"),
        ("sign", "quinn"),
    ]
    assert_trail_intact(db)


def test_hold_release_and_partial_then_whole_scrap(
    db: Database, stores: Materials, line: object
) -> None:
    unit = _at_crimp(line)
    receive(stores, "HOUSING-4P", "H-9", 40)
    password = line.password  # type: ignore[attr-defined]
    held = stores.change_status(
        actor="sam", action="hold", part="HOUSING-4P", lot="H-9", reason="cracked boxes"
    )
    assert (held.status, held.hold_reason) == ("on_hold", "cracked boxes")
    with pytest.raises(Invalid) as unasked:
        stores.change_status(
            actor="sam",
            action="hold",
            part="HOUSING-4P",
            lot="H-9",
            reason="again",
            signatures=[SignatureInput("quinn", password, "Held")],
        )
    assert unasked.value.message == (
        "Site 'acme-harness' asks for no signature to hold a lot; send none."
    )
    scrap = SignatureInput("quinn", password, "Scrapped")
    partly = stores.change_status(
        actor="quinn",
        action="scrap",
        part="HOUSING-4P",
        lot="H-9",
        reason="12 housings cracked",
        quantity=12,
        signatures=[scrap],
    )
    assert (partly.quantity, partly.status) == (28, "on_hold")
    with pytest.raises(Conflict) as too_much:
        stores.change_status(
            actor="quinn",
            action="scrap",
            part="HOUSING-4P",
            lot="H-9",
            reason="more",
            quantity=30,
            signatures=[scrap],
        )
    assert too_much.value.message == (
        "Lot 'H-9' of part 'HOUSING-4P' has only 28 pcs left; it cannot lose 30 pcs."
    )
    whole = stores.change_status(
        actor="quinn",
        action="scrap",
        part="HOUSING-4P",
        lot="H-9",
        reason="the rest too",
        signatures=[scrap],
    )
    assert (whole.quantity, whole.status) == (28, "scrapped")
    assert unit
    assert_trail_intact(db)


def test_expiry_is_shown_refused_at_consumption_and_swept(
    db: Database, stores: Materials, line: object
) -> None:
    unit = _at_crimp(line)
    receive(stores, "TERM-22", "T-OLD", 100, expires_on=TODAY + dt.timedelta(days=2))
    password = line.password  # type: ignore[attr-defined]
    stores.change_status(
        actor="quinn",
        action="release",
        part="TERM-22",
        lot="T-OLD",
        reason="ok",
        signatures=[SignatureInput("quinn", password, RELEASED)],
    )
    # The station's clock is today (weeks after NOW): the lot has expired.
    assert _scan(line, unit, "T-OLD") == (
        "Lot 'T-OLD' of part 'TERM-22' expired on 2026-11-05; use another lot."
    )
    later = Materials(db, clock=lambda: NOW + dt.timedelta(days=2))
    assert later.lot("TERM-22", "T-OLD").status == "expired"
    assert stores.lot("TERM-22", "T-OLD").status == "available"
    swept = later.expire_due(actor="sam")
    assert [lot.number for lot in swept.lots] == ["T-OLD"]
    assert later.expire_due(actor="sam").lots == ()
    with pytest.raises(Conflict) as release:
        later.change_status(
            actor="sam", action="hold", part="TERM-22", lot="T-OLD", reason="keep it"
        )
    assert release.value.message == (
        "Lot 'T-OLD' of part 'TERM-22' is expired; only an available lot can be put on hold."
    )
    assert _scan(line, unit, "T-OLD") == (
        "Lot 'T-OLD' of part 'TERM-22' expired on 2026-11-05; use another lot."
    )
    assert_trail_intact(db)


def test_split_merge_and_move_keep_genealogy_links(db: Database, stores: Materials) -> None:
    receive(stores, "WIRE-18-RD", "W-A", 300, location="stores")
    receive(stores, "WIRE-18-RD", "W-B", 200, location="stores")
    part = stores.split(
        actor=CLERK, part="WIRE-18-RD", lot="W-A", quantity=50, new_number="W-A-1",
        reason="reel for line 1",
    )  # fmt: skip
    assert (part.quantity, part.location, part.status) == (50, "stores", "available")
    moved = stores.move(actor=CLERK, part="WIRE-18-RD", lot="W-A-1", location="line-1")
    assert moved.location == "line-1"
    with pytest.raises(Invalid) as again:
        stores.move(actor=CLERK, part="WIRE-18-RD", lot="W-A-1", location="line-1")
    assert again.value.message == "Lot 'W-A-1' of part 'WIRE-18-RD' is already at line-1."
    merged = stores.merge(
        actor=CLERK, part="WIRE-18-RD", lots_merged=["W-A", "W-B"], new_number="W-AB",
        reason="consolidate reels",
    )  # fmt: skip
    assert (merged.quantity, merged.location) == (450, "stores")
    assert stores.lot("WIRE-18-RD", "W-A").links == (
        LotLinkInfo("into", "split", "W-A-1", 50),
        LotLinkInfo("into", "merge", "W-AB", 250),
    )
    assert stores.lot("WIRE-18-RD", "W-AB").links == (
        LotLinkInfo("from", "merge", "W-A", 250),
        LotLinkInfo("from", "merge", "W-B", 200),
    )
    assert stores.lot("WIRE-18-RD", "W-B").lot.status == "consumed"
    with pytest.raises(Invalid) as whole:
        stores.split(
            actor=CLERK, part="WIRE-18-RD", lot="W-AB", quantity=450, new_number="W-X",
            reason="all",
        )  # fmt: skip
    assert whole.value.message == (
        "Lot 'W-AB' of part 'WIRE-18-RD' holds 450 m; split off less than all of it (move the "
        "lot instead)."
    )
    with pytest.raises(Conflict) as used:
        stores.merge(
            actor=CLERK, part="WIRE-18-RD", lots_merged=["W-AB", "W-B"], new_number="W-Y",
            reason="x",
        )  # fmt: skip
    assert used.value.message == (
        "Lot 'W-B' of part 'WIRE-18-RD' is consumed; only available or quarantined lots are merged."
    )
    assert_trail_intact(db)


def test_a_recall_of_a_lot_follows_the_lots_split_from_it(
    db: Database, stores: Materials, line: object
) -> None:
    stores.split(
        actor=CLERK, part="WIRE-18-RD", lot="W-001", quantity=10, new_number="W-001-1",
        reason="reel for line 1",
    )  # fmt: skip
    (unit,) = line.release()  # type: ignore[attr-defined]
    engine = line.engine  # type: ignore[attr-defined]
    engine.start_operation(actor="olga", item=unit, operation="cut")
    engine.complete_operation(
        actor="olga", item=unit, operation="cut", data={"length": 500.0, "strip_length": 7.0},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001-1")],
    )  # fmt: skip
    assert [used.number for used in engine.where_used("WIRE-18-RD", "W-001")] == [unit]
    assert [used.number for used in engine.where_used("WIRE-18-RD", "W-001-1")] == [unit]
    assert_trail_intact(db)
