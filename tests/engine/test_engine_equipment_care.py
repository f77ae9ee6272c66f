"""Calibration and maintenance records: signed, driving the due dates, the implicit interlock;
a failed calibration's lock-out, impact list and bulk hold."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from engine_exec_support import GOOD_TAGS, Line, receive_stock
from sqlalchemy import select, update
from testdata import ACME, PASSWORD

from dsl.model import Plant
from engine.access import people
from engine.access.signatures import SignatureInput, SignatureRefused
from engine.commands import versions
from engine.commands.calibration import CalibrationInput
from engine.commands.maintenance import MaintenanceInput
from engine.errors import Blocked, Conflict, Forbidden, Invalid, NotFound
from engine.facade import equipment as equipment_facade
from engine.facade.audit import AuditTrail
from engine.facade.equipment import EquipmentCare
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.production import HoldEvent, Signature
from engine.records.tables import AuditRecord, User

PRESS = "crimp-press-1"
MEANING = "Performed and verified"
# after the equipment records are seeded (state changes are kept in time order)
START = dt.datetime.now(dt.UTC).replace(hour=10, minute=0, second=0, microsecond=0) + dt.timedelta(
    days=1
)


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def days_later(self, days: int) -> None:
        self.now += dt.timedelta(days=days)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(dt.UTC).date()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _engine(db: Database, plant: Plant, clock: Clock) -> EquipmentCare:
    """The engine on ``plant`` with stock, its operator trained 90 days before the clock."""
    receive_stock(db, plant)
    with db.transaction() as session:
        for qualification in plant.qualifications:
            people.grant_qualification(
                session, "olga", qualification, actor="setup", plant=plant,
                granted_on=START.date() - dt.timedelta(days=90),
            )  # fmt: skip
    tags = StaticTagSource(GOOD_TAGS, clock=clock)
    return EquipmentCare(db, tags, RecordingSetpointWriter(), clock=clock)


@pytest.fixture
def care(db: Database, plant: Plant, users: object, clock: Clock) -> EquipmentCare:
    return _engine(db, plant, clock)


@pytest.fixture
def line(care: EquipmentCare, plant: Plant, users: object) -> Line:
    return Line(care, care.runtime.tags, plant, "olga", "sam", "quinn", users.password)  # type: ignore[arg-type, attr-defined]


def _signature(line: Line, meaning: str = MEANING, username: str = "quinn") -> SignatureInput:
    return SignatureInput(username, line.password, meaning)


def _calibrate(care: EquipmentCare, line: Line, result: str, on: dt.date, note: str = "") -> int:
    given = CalibrationInput(
        result, on, "Metrology lab", certificate="CAL-2026-117",
        measured={"force_at_5kN": 4.98, "visual": "ok"}, note=note,
    )  # fmt: skip
    return care.record_calibration(
        actor="quinn", equipment_name=PRESS, given=given, signature=_signature(line)
    ).id


def _made(line: Line, *, complete: bool) -> str:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    if complete:
        assert line.test(unit) == "completed"
    return unit


def _verified(db: Database) -> None:
    verdict = AuditTrail(db).verify()
    assert verdict.ok, verdict


def test_a_passed_calibration_sets_the_next_due_date_from_the_interval(
    care: EquipmentCare, line: Line, clock: Clock, db: Database
) -> None:
    calibration_id = _calibrate(care, line, "pass", clock.today)
    card = care.equipment_card(PRESS)
    assert card.status.calibration_due == clock.today + dt.timedelta(days=180)
    assert card.calibration_every_days == 180
    (recorded,) = card.calibrations
    assert (recorded.id, recorded.result, recorded.measured) == (
        calibration_id, "pass", {"force_at_5kN": 4.98, "visual": "ok"},
    )  # fmt: skip
    with db.session() as session:
        signature = session.scalar(select(Signature).where(Signature.record_type == "calibration"))
        assert signature is not None
        assert (signature.record_id, signature.username, signature.meaning) == (
            calibration_id, "quinn", MEANING,
        )  # fmt: skip
    versions.deploy(db, ACME, actor="admin", note="redeploy")  # the config's later date
    assert care.equipment_card(PRESS).status.calibration_due == clock.today + dt.timedelta(days=180)
    _verified(db)


def test_a_failed_calibration_locks_the_press_out_and_lists_what_was_made_since_the_last_pass(
    care: EquipmentCare, line: Line, clock: Clock, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _made(line, complete=True)  # made before the last passed calibration
    clock.days_later(5)
    _calibrate(care, line, "pass", clock.today)
    clock.days_later(5)
    shipped = _made(line, complete=True)
    waiting = _made(line, complete=False)
    clock.days_later(5)
    failed = _calibrate(care, line, "fail", clock.today, note="Force 6 % low at 5 kN")

    card = care.equipment_card(PRESS)
    assert card.status.state == "down"
    assert card.status.calibration_due == clock.today - dt.timedelta(days=1)
    assert card.states[0].reason == f"Calibration #{failed} failed: Force 6 % low at 5 kN"
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor="olga", item=unit, operation="crimp")
    failing = [c["because"] for c in blocked.value.checks if c["outcome"] != "pass"]
    assert failing == [f"Equipment {PRESS} is down", f"Calibration of {PRESS} is overdue"]

    impact = care.impact(failed)
    assert impact.total == 2
    assert [(i.number, i.kind, i.status) for i in impact.items] == [
        (waiting, "unit", "queued"), (shipped, "unit", "completed"),
    ]  # fmt: skip
    assert [i.number for i in care.impact(failed, limit=1).items] == [waiting]
    assert (
        impact.since is not None
        and impact.since.date() == (clock.now - dt.timedelta(days=10)).date()
    )
    assert before not in [i.number for i in impact.items]

    monkeypatch.setattr(equipment_facade, "BULK_MAX", 1)  # one item per call: oldest first
    held = care.hold_impact(actor="quinn", calibration_id=failed, reason="Press out of tolerance")
    assert (held.held, held.skipped, held.remaining) == ((shipped,), (), 1)
    held = care.hold_impact(actor="quinn", calibration_id=failed, reason="Press out of tolerance")
    assert (held.held, held.skipped, held.remaining) == ((waiting,), (), 0)
    assert line.engine.item(shipped).status == "on_hold"
    assert line.engine.item(waiting).status == "on_hold"
    assert line.engine.item(before).status == "completed"
    assert {i.status for i in care.impact(failed).items} == {"on_hold"}
    with pytest.raises(Conflict) as nothing:
        care.hold_impact(actor="quinn", calibration_id=failed, reason="again")
    assert nothing.value.message == (
        f"Nothing made on {PRESS} since its last passed calibration is left to hold."
    )
    released = line.engine.release(actor="quinn", item=shipped, reason="Re-tested, conforming")
    assert released.status == "completed"
    clock.days_later(1)
    passed = _calibrate(care, line, "pass", clock.today)
    card = care.equipment_card(PRESS)
    assert (card.status.state, card.states[0].reason) == ("idle", f"Calibration #{passed} passed")
    assert line.crimp(unit) == "next"
    with db.session() as session:
        bulk = session.scalar(select(AuditRecord).where(AuditRecord.action == "bulk_hold"))
        assert bulk is not None and bulk.entity_id == f"calibration #{failed}"
    _verified(db)


def test_a_passed_calibration_has_no_impact_list(
    care: EquipmentCare, line: Line, clock: Clock
) -> None:
    passed = _calibrate(care, line, "pass", clock.today)
    with pytest.raises(Invalid) as refused:
        care.impact(passed)
    assert refused.value.message == (
        f"Calibration #{passed} of {PRESS} passed; only a failed calibration has an impact list."
    )
    with pytest.raises(NotFound) as missing:
        care.impact(999)
    assert missing.value.message == (
        "There is no calibration #999; check the number on the equipment page."
    )


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"result": "passed"}, Invalid,
            "'passed' is not a calibration result; use pass or fail.",
        ),
        (
            {"certificate": ""}, Invalid,
            "Give the calibration certificate's reference or attach its file.",
        ),
        (
            {"certificate_sha256": "abc"}, Invalid,
            "The certificate's SHA-256 must be 64 lowercase hexadecimal digits.",
        ),
        (
            {"performed_by": " "}, Invalid,
            "Say who performed the calibration (a technician or a lab).",
        ),
        (
            {"result": "fail"}, Invalid,
            "A failed calibration needs a note saying what was out of tolerance.",
        ),
    ],
)  # fmt: skip
def test_a_calibration_is_checked_before_its_signature(
    care: EquipmentCare,
    line: Line,
    clock: Clock,
    db: Database,
    change: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    fields: dict[str, object] = {
        "result": "pass", "performed_on": clock.today, "performed_by": "Metrology lab",
        "certificate": "CAL-1", **change,
    }  # fmt: skip
    wrong_password = SignatureInput("quinn", "not the password", MEANING)
    with pytest.raises(error) as refused:
        care.record_calibration(
            actor="quinn", equipment_name=PRESS, given=CalibrationInput(**fields),  # type: ignore[arg-type]
            signature=wrong_password,
        )  # fmt: skip
    assert refused.value.message == message  # type: ignore[attr-defined]
    with db.session() as session:
        refusals = session.scalar(
            select(AuditRecord).where(AuditRecord.action == "signature_refused")
        )
    assert refusals is None  # the password was never checked


def test_a_calibration_in_the_future_or_by_someone_else_is_refused(
    care: EquipmentCare, line: Line, clock: Clock
) -> None:
    tomorrow = clock.today + dt.timedelta(days=2)
    given = CalibrationInput("pass", tomorrow, "Lab", certificate="CAL-1")
    with pytest.raises(Invalid) as future:
        care.record_calibration(
            actor="quinn", equipment_name=PRESS, given=given, signature=_signature(line)
        )
    assert future.value.message.startswith(f"The calibration cannot be dated {tomorrow}, after")
    today = CalibrationInput("pass", clock.today, "Lab", certificate="CAL-1")
    with pytest.raises(Forbidden) as operator:
        care.record_calibration(
            actor="olga", equipment_name=PRESS, given=today,
            signature=_signature(line, username="olga"),
        )  # fmt: skip
    assert operator.value.message == (
        f"User 'olga' may not record a calibration of {PRESS}: that needs the role "
        "'maintenance' or 'quality'; ask an admin to grant it."
    )
    with pytest.raises(Forbidden) as other:
        care.record_calibration(
            actor="quinn", equipment_name=PRESS, given=today,
            signature=_signature(line, username="sam"),
        )  # fmt: skip
    assert other.value.message == (
        "The record must be signed by 'quinn' who makes it, not by 'sam'; sign with your own "
        "username and password."
    )
    with pytest.raises(Invalid) as meaning:
        care.record_calibration(
            actor="quinn", equipment_name=PRESS, given=today,
            signature=_signature(line, meaning="Looks fine"),
        )  # fmt: skip
    assert meaning.value.message == (
        "'Looks fine' is not a meaning this signature can state; choose 'Performed and "
        "verified' or 'Reviewed and approved'."
    )
    with pytest.raises(SignatureRefused):
        care.record_calibration(
            actor="quinn", equipment_name=PRESS, given=today,
            signature=SignatureInput("quinn", "wrong", MEANING),
        )  # fmt: skip
    with pytest.raises(NotFound) as unknown:
        care.record_calibration(
            actor="quinn", equipment_name="press-9", given=today, signature=_signature(line)
        )
    assert unknown.value.message == (
        "There is no equipment 'press-9' in the deployed config; check the name on the "
        "equipment page."
    )


def test_maintenance_moves_its_due_date_and_overdue_maintenance_blocks_a_start(
    care: EquipmentCare, line: Line, clock: Clock, db: Database
) -> None:
    done = care.record_maintenance(
        actor="quinn", equipment_name=PRESS,
        given=MaintenanceInput(clock.today, "Max (maintenance)", "Replaced the die, greased"),
        signature=_signature(line),
    )  # fmt: skip
    assert done.next_due == clock.today + dt.timedelta(days=90)
    assert care.equipment_card(PRESS).status.maintenance_due == done.next_due
    assert [d.kind for d in care.due_work() if d.equipment == PRESS] == []
    clock.days_later(85)  # within the 7 days' warning
    (warned,) = [d for d in care.due_work() if d.equipment == PRESS]
    assert (warned.kind, warned.due, warned.overdue, warned.days_left) == (
        "maintenance", done.next_due, False, 5,
    )  # fmt: skip
    clock.days_later(6)
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor="olga", item=unit, operation="crimp")
    failing = [c["because"] for c in blocked.value.checks if c["outcome"] != "pass"]
    assert failing == [f"Maintenance of {PRESS} is overdue"]
    with pytest.raises(Invalid) as no_interval:
        care.record_maintenance(
            actor="quinn", equipment_name="tester-1",
            given=MaintenanceInput(clock.today, "Max", "Cleaned the probes"),
            signature=_signature(line),
        )  # fmt: skip
    assert no_interval.value.message == (
        "Equipment tester-1 declares no maintenance interval, so the next due date is unknown; "
        "add `maintenance: {every: 30 d}` under tester-1 in site.yaml and deploy."
    )
    _verified(db)


def test_a_bulk_hold_names_unknown_items_and_skips_those_a_hold_does_not_apply_to(
    care: EquipmentCare, line: Line, db: Database
) -> None:
    first, second = line.release(2)
    line.engine.hold(actor="sam", item=first, reason="Suspect wire")
    with pytest.raises(NotFound) as unknown:
        care.hold_items(actor="sam", items=[second, "HA-NOPE"], reason="Recall R-7")
    assert unknown.value.message == (
        "No unit or lot is numbered HA-NOPE; check the list and hold again. Nothing was held."
    )
    assert line.engine.item(second).status == "queued"
    result = care.hold_items(actor="sam", items=[first, second, second], reason="Recall R-7")
    assert result.held == (second,)
    assert [(s.number, s.reason) for s in result.skipped] == [
        (first, f"Unit {first} is already on hold (reason: Suspect wire).")
    ]
    with pytest.raises(Forbidden):
        care.hold_items(actor="olga", items=[second], reason="Recall R-7")
    with pytest.raises(Invalid) as empty:
        care.hold_items(actor="sam", items=[" "], reason="Recall R-7")
    assert empty.value.message == "Name at least one unit or lot to hold."
    with db.session() as session:
        holds = session.scalars(select(HoldEvent.reason).where(HoldEvent.action == "hold")).all()
    assert holds == ["Suspect wire", "Recall R-7"]
    _verified(db)


def test_a_press_with_an_interval_but_no_calibration_yet_cannot_start_until_one_is_recorded(
    db: Database, password_hash: str, tmp_path: Path, clock: Clock
) -> None:
    plant_dir = tmp_path / "acme"
    shutil.copytree(ACME, plant_dir)
    site = plant_dir / "site.yaml"
    site.write_text(site.read_text().replace("    calibration_due: 2027-06-30\n", ""))
    versions.deploy(db, plant_dir, actor="admin", note="an interval, no calibration date")
    plant = versions.active_plant(db)[1]
    with db.transaction() as session:
        for username, role in (("olga", "operator"), ("sam", "supervisor"), ("quinn", "quality")):
            people.create_user(session, username, actor="setup")
            people.grant_role(session, username, role, actor="setup", plant=plant)
        session.execute(update(User).values(password_hash=password_hash))
    care = _engine(db, plant, clock)
    line = Line(care, care.runtime.tags, plant, "olga", "sam", "quinn", PASSWORD)  # type: ignore[arg-type]
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    with pytest.raises(Blocked) as blocked:
        care.start_operation(actor="olga", item=unit, operation="crimp")
    failing = [c["because"] for c in blocked.value.checks if c["outcome"] != "pass"]
    assert failing == [f"Calibration of {PRESS} is overdue"]
    _calibrate(care, line, "pass", clock.today)
    assert line.crimp(unit) == "next"


def test_maintenance_counted_in_uses_warns_then_blocks_until_it_is_recorded(
    db: Database, users: object, tmp_path: Path, clock: Clock
) -> None:
    plant_dir = tmp_path / "acme"
    shutil.copytree(ACME, plant_dir)
    site = plant_dir / "site.yaml"
    site.write_text(site.read_text().replace("uses: 20000, counter: press1.strokes", "uses: 10"))
    versions.deploy(db, plant_dir, actor="admin", note="maintenance every 10 crimps")
    plant = versions.active_plant(db)[1]
    care = _engine(db, plant, clock)
    line = Line(care, care.runtime.tags, plant, "olga", "sam", "quinn", PASSWORD)  # type: ignore[arg-type]
    units = line.release(11)
    for unit in units[:9]:
        assert line.cut(unit) == "next"
        assert line.crimp(unit) == "next"
    card = care.equipment_card(PRESS)
    assert (card.uses_since_maintenance, card.maintenance_every_uses) == (9, 10)
    (warned,) = [d for d in care.due_work() if d.equipment == PRESS]
    assert (warned.kind, warned.uses_left, warned.overdue) == ("maintenance", 1, False)
    assert line.cut(units[9]) == "next"
    assert line.crimp(units[9]) == "next"
    assert line.cut(units[10]) == "next"
    with pytest.raises(Blocked) as blocked:
        care.start_operation(actor="olga", item=units[10], operation="crimp")
    failing = [c["because"] for c in blocked.value.checks if c["outcome"] != "pass"]
    assert failing == [f"Maintenance of {PRESS} is overdue"]
    (overdue,) = [d for d in care.due_work() if d.equipment == PRESS]
    assert (overdue.uses_left, overdue.overdue) == (0, True)
    clock.days_later(1)
    care.record_maintenance(
        actor="quinn", equipment_name=PRESS,
        given=MaintenanceInput(clock.today, "Max", "Die and anvil replaced"),
        signature=SignatureInput("quinn", PASSWORD, MEANING),
    )  # fmt: skip
    assert care.equipment_card(PRESS).uses_since_maintenance == 0
    assert line.crimp(units[10]) == "next"
    _verified(db)
