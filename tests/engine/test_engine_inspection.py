"""AQL receiving inspection (ANSI/ASQ Z1.4) recorded: the plan from the lot size and the
stream's switching state, samples one by one, accept at ≤ Ac once n are in, reject as soon as
Re are found (the lot stays in quarantine or goes on hold with the reason), switching across lots
replayed from the recorded decisions, discontinuation and signed reinstatement."""

from __future__ import annotations

import pytest
from material_support import NOW, assert_trail_intact, clerk, receive, stores
from testdata import PASSWORD

from dsl.model import Plant
from engine.access.signatures import SignatureInput
from engine.commands import versions
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.facade.inspection import Inspection
from engine.facade.materials import Materials
from engine.floor.aql_streams import InspectionInfo
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database

__all__ = ["clerk", "stores"]  # fixtures

SUPPLIER = "Kontakt GmbH"


@pytest.fixture
def desk(db: Database, plant: Plant, users: object) -> Inspection:
    """The inspection facade at :data:`NOW`."""
    return Inspection(db, StaticTagSource({}), clock=lambda: NOW)


def _lot(stores: Materials, number: str, quantity: int, supplier: str = SUPPLIER) -> str:
    return receive(stores, "TERM-22", number, quantity, supplier=supplier).number


def _inspect(desk: Inspection, lot: str, *, defects: int) -> InspectionInfo:
    """Start the lot's inspection and record ``defects`` nonconforming samples first, then
    conforming ones until the lot is decided."""
    info = desk.start_receiving_inspection(actor="quinn", part="TERM-22", lot=lot)
    for number in range(info.sample_size):
        info = desk.record_sample(
            actor="quinn", inspection_id=info.id, conforming=number >= defects,
            defect_code="" if number >= defects else "PLATING",
        )  # fmt: skip
        if info.accepted is not None:
            return info
    raise AssertionError("the lot was never decided")


def test_the_plan_comes_from_the_lot_size_and_the_tables(
    db: Database, desk: Inspection, stores: Materials
) -> None:
    big = desk.start_receiving_inspection(
        actor="quinn", part="TERM-22", lot=_lot(stores, "T-2000", 2000)
    )
    assert (big.code_letter, big.letter, big.sample_size, big.ac, big.re, big.severity) == (
        "K", "K", 125, 3, 4, "normal",
    )  # fmt: skip
    assert big.plan == "normal, level II, AQL 1.0, code K: n = 125, Ac 3, Re 4"
    small = desk.start_receiving_inspection(
        actor="quinn", part="TERM-22", lot=_lot(stores, "T-100", 100)
    )
    assert small.plan == "normal, level II, AQL 1.0, code F → E: n = 13, Ac 0, Re 1"
    assert (small.inspected, small.accepted) == (0, None)
    assert_trail_intact(db)


def test_all_n_in_with_at_most_ac_accepts_and_releases_the_lot(
    db: Database, desk: Inspection, stores: Materials
) -> None:
    lot = _lot(stores, "T-1", 2000)
    assert stores.lot("TERM-22", lot).lot.status == "quarantine"
    accepted = _inspect(desk, lot, defects=3)
    assert (accepted.inspected, accepted.defects, accepted.accepted) == (125, 3, True)
    assert accepted.decided_by == "quinn"
    released = stores.lot("TERM-22", lot).lot
    assert (released.status, released.hold_reason) == ("available", "")
    assert_trail_intact(db)


def test_re_nonconforming_rejects_at_once_and_the_lot_stays_in_quarantine(
    db: Database, desk: Inspection, stores: Materials
) -> None:
    lot = _lot(stores, "T-2", 2000)
    rejected = _inspect(desk, lot, defects=4)
    assert (rejected.inspected, rejected.defects, rejected.accepted) == (4, 4, False)
    kept = stores.lot("TERM-22", lot).lot
    assert kept.status == "quarantine"
    assert kept.hold_reason == (
        f"AQL inspection {rejected.id} rejected the lot: 4 nonconforming in 4 samples (Ac 3, Re 4)"
    )
    with pytest.raises(Conflict) as decided:
        desk.record_sample(actor="quinn", inspection_id=rejected.id, conforming=True)
    assert decided.value.message == (
        f"Inspection {rejected.id} of lot 'T-2' is already decided: the lot was rejected; no "
        "more samples are taken."
    )
    assert desk.inspection(rejected.id) == rejected
    assert_trail_intact(db)


def test_a_rejected_available_lot_goes_on_hold_with_the_reason(
    db: Database, plant: Plant, desk: Inspection, stores: Materials
) -> None:
    materials = plant.files["materials.yaml"]
    files = {**plant.files, "materials.yaml": materials.replace("quarantine: true", "")}
    versions.deploy(db, files, actor="admin", note="no quarantine")
    lot = _lot(stores, "T-3", 100)
    assert stores.lot("TERM-22", lot).lot.status == "available"
    rejected = _inspect(desk, lot, defects=1)
    held = stores.lot("TERM-22", lot).lot
    assert (held.status, held.hold_reason) == (
        "on_hold",
        f"AQL inspection {rejected.id} rejected the lot: 1 nonconforming in 1 samples (Ac 0, Re 1)",
    )
    assert_trail_intact(db)


def test_two_of_five_rejected_tighten_inspection_and_the_state_is_replayed(
    db: Database, desk: Inspection, stores: Materials
) -> None:
    outcomes = [
        _inspect(desk, _lot(stores, f"S-{n}", 2000), defects=defects).accepted
        for n, defects in enumerate([0, 4, 1, 5])
    ]
    assert outcomes == [True, False, True, False]
    state = desk.switching_state(part="TERM-22", supplier=SUPPLIER)
    assert (state.severity, state.lots, state.rejected_on_tightened) == ("tightened", 4, 0)
    other = desk.switching_state(part="TERM-22", supplier="Someone Else")
    assert (other.severity, other.lots) == ("normal", 0)
    tightened = desk.start_receiving_inspection(
        actor="quinn", part="TERM-22", lot=_lot(stores, "S-5", 2000)
    )
    assert tightened.plan == "tightened, level II, AQL 1.0, code K: n = 125, Ac 2, Re 3"
    replayed = Inspection(db, StaticTagSource({}), clock=lambda: NOW)
    assert replayed.switching_state(part="TERM-22", supplier=SUPPLIER) == state
    history = desk.inspections(part="TERM-22", supplier=SUPPLIER)
    assert [(i.lot, i.accepted) for i in history] == [
        ("S-5", None), ("S-3", False), ("S-2", True), ("S-1", False), ("S-0", True),
    ]  # fmt: skip
    assert_trail_intact(db)


def test_five_rejections_on_tightened_discontinue_until_quality_reinstates(
    db: Database, desk: Inspection, stores: Materials, users: object
) -> None:
    for n in range(7):  # 2 to tighten, then 5 on tightened inspection
        assert _inspect(desk, _lot(stores, f"D-{n}", 100), defects=1).accepted is False
    state = desk.switching_state(part="TERM-22", supplier=SUPPLIER)
    assert state.severity == "discontinued"
    lot = _lot(stores, "D-7", 100)
    with pytest.raises(Conflict) as refused:
        desk.start_receiving_inspection(actor="quinn", part="TERM-22", lot=lot)
    assert refused.value.message == (
        "TERM-22 from Kontakt GmbH: inspection is discontinued; quality must reinstate it first"
    )
    signature = SignatureInput("quinn", PASSWORD, "Supplier corrective action verified")
    with pytest.raises(Invalid) as no_reason:
        desk.reinstate_inspection(
            actor="quinn", part="TERM-22", supplier=SUPPLIER, reason=" ", signature=signature
        )
    assert no_reason.value.message == (
        "Give the supplier's corrective action as the reason to reinstate inspection."
    )
    back = desk.reinstate_inspection(
        actor="quinn", part="TERM-22", supplier=SUPPLIER, reason="8D report 4471 closed",
        signature=signature,
    )  # fmt: skip
    assert (back.severity, back.lots) == ("tightened", 7)
    again = desk.start_receiving_inspection(actor="quinn", part="TERM-22", lot=lot)
    assert again.severity == "tightened"
    with pytest.raises(Conflict) as twice:
        desk.reinstate_inspection(
            actor="quinn", part="TERM-22", supplier=SUPPLIER, reason="again",
            signature=signature,
        )  # fmt: skip
    assert twice.value.message == (
        "Inspection of TERM-22 from Kontakt GmbH is tightened, not discontinued; there is "
        "nothing to reinstate."
    )
    assert_trail_intact(db)


def test_refusals_say_what_to_do(db: Database, desk: Inspection, stores: Materials) -> None:
    lot = _lot(stores, "R-1", 500)
    with pytest.raises(Forbidden):
        desk.start_receiving_inspection(actor="olga", part="TERM-22", lot=lot)
    wire = receive(stores, "WIRE-18-RD", "W-9", 100).number
    with pytest.raises(Invalid) as no_plan:
        desk.start_receiving_inspection(actor="quinn", part="WIRE-18-RD", lot=wire)
    assert no_plan.value.message == (
        "Part 'WIRE-18-RD' has no AQL receiving inspection; add sample: {aql: 1.0, level: II} "
        "to it in materials.yaml."
    )
    started = desk.start_receiving_inspection(actor="quinn", part="TERM-22", lot=lot)
    with pytest.raises(Conflict) as twice:
        desk.start_receiving_inspection(actor="quinn", part="TERM-22", lot=lot)
    assert twice.value.message == (
        f"Lot 'R-1' of part 'TERM-22' was already put to inspection {started.id}; record its "
        "samples there."
    )
    with pytest.raises(Invalid) as coded:
        desk.record_sample(
            actor="quinn", inspection_id=started.id, conforming=True, defect_code="BURR"
        )
    assert coded.value.message == (
        "A conforming sample has no defect code; leave it empty or record the sample as "
        "nonconforming."
    )
    with pytest.raises(NotFound) as unknown:
        desk.inspection(9999)
    assert unknown.value.message == "There is no inspection 9999; check the number."
    assert_trail_intact(db)


def test_skip_lot_passes_every_other_lot_after_a_good_run(
    db: Database, plant: Plant, desk: Inspection, stores: Materials
) -> None:
    materials = plant.files["materials.yaml"]
    sampled = "sample: {aql: 1.0, level: II, release: true}"
    assert sampled in materials
    skipping = "sample: {aql: 1.0, level: II, release: true, skip: {after: 2, every: 2}}"
    files = {**plant.files, "materials.yaml": materials.replace(sampled, skipping)}
    versions.deploy(db, files, actor="admin", note="skip-lot")
    for n in range(2):
        assert _inspect(desk, _lot(stores, f"K-{n}", 100), defects=0).accepted is True
    skipped = desk.start_receiving_inspection(
        actor="quinn", part="TERM-22", lot=_lot(stores, "K-2", 100)
    )
    assert (skipped.skipped, skipped.plan, skipped.accepted, skipped.inspected) == (
        True, "skipped (skip-lot)", True, 0,
    )  # fmt: skip
    assert stores.lot("TERM-22", "K-2").lot.status == "available"
    inspected = desk.start_receiving_inspection(
        actor="quinn", part="TERM-22", lot=_lot(stores, "K-3", 100)
    )
    assert (inspected.skipped, inspected.accepted) == (False, None)
    state = desk.switching_state(part="TERM-22", supplier=SUPPLIER)
    assert (state.lots, state.score) == (3, 4)  # the skipped lot does not count for the score
    assert_trail_intact(db)
