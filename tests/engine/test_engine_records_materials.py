"""Material lots (statuses, expiry from shelf life) and equipment (dates, state history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dsl.model import Plant
from engine.commands import equipment, materials
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.infra import audit
from engine.infra.db import Database

DAY = dt.date(2026, 3, 1)


def _receive(
    db: Database,
    plant: Plant,
    part: str = "TERM-22",
    number: str = "L-1",
    qty: float = 10,
    **kwargs: Any,
) -> materials.LotInfo:
    with db.transaction() as session:
        return materials.receive_lot(session, plant, part, number, qty, actor="stores", **kwargs)


def test_a_received_lot_expires_after_the_parts_shelf_life(db: Database, plant: Plant) -> None:
    lot = _receive(db, plant, received_on=DAY, supplier="Acme Terminals")
    assert (lot.status, lot.quantity, lot.unit, lot.supplier) == (
        "available",
        10,
        "pcs",
        "Acme Terminals",
    )
    assert lot.expires_on == DAY + dt.timedelta(days=730)
    assert not lot.expired_on(DAY + dt.timedelta(days=729))
    assert lot.expired_on(DAY + dt.timedelta(days=730))
    wire = _receive(db, plant, "WIRE-18-RD", "W-1", 250)
    assert (wire.expires_on, wire.unit) == (None, "m")  # no shelf life: never expires
    explicit = _receive(db, plant, number="L-2", expires_on=DAY)
    assert explicit.expires_on == DAY


def test_hold_release_consume_and_scrap(db: Database, plant: Plant, users: Any) -> None:
    lot = _receive(db, plant)
    with db.transaction() as session:
        held = materials.hold_lot(
            session, "TERM-22", "L-1", actor=users.quality, reason="supplier recall"
        )
    assert (held.status, held.hold_reason) == ("on_hold", "supplier recall")
    with pytest.raises(Conflict) as on_hold, db.transaction() as session:
        materials.consume(session, lot.id, 1, actor=users.operator)
    assert on_hold.value.message == (
        "Lot 'L-1' of part 'TERM-22' is on hold and cannot be consumed; use an available lot."
    )
    with db.transaction() as session:
        released = materials.release_lot(
            session,
            "TERM-22",
            "L-1",
            actor=users.supervisor,
            reason="recall does not cover this lot",
        )
        assert (released.status, released.hold_reason) == ("available", "")
        assert materials.consume(session, lot.id, 4, actor=users.operator).quantity == 6
    with pytest.raises(Conflict) as short, db.transaction() as session:
        materials.consume(session, lot.id, 7, actor=users.operator)
    assert short.value.message == (
        "Lot 'L-1' of part 'TERM-22' has only 6 pcs left, less than the 7 pcs needed; use another "
        "lot for the rest."
    )
    with db.transaction() as session:
        emptied = materials.consume(session, lot.id, 6, actor=users.operator)
    assert (emptied.quantity, emptied.status) == (0, "consumed")
    other = _receive(db, plant, number="L-9")
    with db.transaction() as session:
        scrapped = materials.scrap_lot(session, "TERM-22", "L-9", actor=users.quality, reason="wet")
    assert scrapped.status == "scrapped"
    with db.session() as session:
        actions = [r["action"] for r in audit.history(session, "lot", lot.id)]
        assert actions == ["receive", "hold", "release", "consume", "consume"]
        assert [x.number for x in materials.lots_of(session, "TERM-22")] == ["L-1", "L-9"]
        assert materials.find_lot(session, "TERM-22", "L-9").id == other.id


def test_fractional_consumption_reaches_exactly_zero(
    db: Database, plant: Plant, users: Any
) -> None:
    lot = _receive(db, plant, "WIRE-18-RD", "W-1", 0.3)
    with db.transaction() as session:
        materials.consume(session, lot.id, 0.1, actor=users.operator)
        materials.consume(session, lot.id, 0.1, actor=users.operator)
        last = materials.consume(session, lot.id, 0.1, actor=users.operator)
    assert (last.quantity, last.status) == (0, "consumed")


def test_lot_commands_refuse_bad_input_with_a_fix(db: Database, plant: Plant, users: Any) -> None:
    _receive(db, plant)
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda s: materials.receive_lot(s, plant, "TERM-2", "X", 1, actor="a"),
            Invalid,
            "The plant declares no part 'TERM-2'. Did you mean 'TERM-22'? Declared: "
            "HOUSING-4P, TERM-22, WIRE-18-RD.",
        ),
        (
            lambda s: materials.receive_lot(s, plant, "TERM-22", "X", 0, actor="a"),
            Invalid,
            "Received quantity must be a number more than 0 pcs; got 0.",
        ),
        (
            lambda s: materials.receive_lot(s, plant, "TERM-22", "L-1", 5, actor="a"),
            Conflict,
            "Lot 'L-1' of part 'TERM-22' was already received; give this delivery its own lot "
            "number.",
        ),
        (
            lambda s: materials.hold_lot(s, "TERM-22", "L-1", actor=users.operator, reason="x"),
            Forbidden,
            "User 'olga' may not hold a lot: that needs the role 'quality' or 'supervisor'; ask an "
            "admin to grant it.",
        ),
        (
            lambda s: materials.hold_lot(s, "TERM-22", "L-1", actor=users.quality, reason=" "),
            Invalid,
            "Give a reason to hold a lot; it goes into the audit trail.",
        ),
        (
            lambda s: materials.release_lot(s, "TERM-22", "L-1", actor=users.quality, reason="ok"),
            Conflict,
            "Lot 'L-1' of part 'TERM-22' is available, not on hold or in quarantine; there is "
            "nothing to release.",
        ),
        (
            lambda s: materials.find_lot(s, "TERM-22", "L-404"),
            NotFound,
            "There is no lot 'L-404' of part 'TERM-22'; check the label, or receive the lot first.",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as caught, db.transaction() as session:
            call(session)
        assert caught.value.message == message  # type: ignore[attr-defined]


def test_equipment_is_seeded_from_the_config_and_calibration_moves_its_date(
    db: Database, plant: Plant
) -> None:
    with db.session() as session:
        press = equipment.status(session, "crimp-press-1")
    assert (press.state, press.calibration_due, press.maintenance_due) == (
        "idle",
        dt.date(2027, 6, 30),
        dt.date(2027, 3, 31),
    )
    with db.transaction() as session:
        moved = equipment.record_calibration(
            session,
            "crimp-press-1",
            actor="metrology",
            done_on=dt.date(2027, 6, 1),
            next_due=dt.date(2028, 6, 1),
            note="certificate 4711",
        )
    assert moved.calibration_due == dt.date(2028, 6, 1)
    with pytest.raises(Invalid) as backwards, db.transaction() as session:
        equipment.record_maintenance(session, "tester-1", actor="m", done_on=DAY, next_due=DAY)
    assert backwards.value.message == (
        "The next due date 2026-03-01 must be after the day the work was done (2026-03-01)."
    )
    with pytest.raises(NotFound) as unknown, db.transaction() as session:
        equipment.status(session, "press-9")
    assert unknown.value.message == (
        "There is no equipment 'press-9'; equipment comes from the deployed config — check the "
        "name or deploy a config that declares it."
    )


def test_state_changes_are_kept_as_history(db: Database, plant: Plant) -> None:
    t0 = dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC)
    with db.transaction() as session:
        assert equipment.record_state_change(
            session, "crimp-press-1", "running", actor="rules", at=t0, source="rules"
        )
        assert not equipment.record_state_change(
            session,
            "crimp-press-1",
            "running",
            actor="rules",
            at=t0 + dt.timedelta(minutes=1),
            source="rules",
        )
        assert equipment.record_state_change(
            session,
            "crimp-press-1",
            "down",
            actor="sam",
            at=t0 + dt.timedelta(hours=2),
            reason="die change",
        )
    with db.session() as session:
        history = equipment.state_history(session, "crimp-press-1")
        assert [(h.previous, h.state, h.at, h.source) for h in history] == [
            ("idle", "running", t0, "rules"),
            ("running", "down", t0 + dt.timedelta(hours=2), "manual"),
        ]
        assert equipment.status(session, "crimp-press-1").state == "down"
    with pytest.raises(Invalid) as bad, db.transaction() as session:
        equipment.record_state_change(session, "crimp-press-1", "broken", actor="x")
    assert bad.value.message == (
        "'broken' is not an equipment state; use one of running, idle, down, setup, unknown."
    )
