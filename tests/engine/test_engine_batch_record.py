"""The compiled batch / device history record: its content, review by exception, signed release,
rejection and amendment, and the audit chain around them."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import json

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import event, select

from engine.access.signatures import SignatureInput, SignatureRefused
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.facade.audit import AuditTrail
from engine.facade.records import Records
from engine.floor.record_content import (
    CapturedValue,
    EnteredValue,
    Review,
    SignatureLine,
    Step,
    exceptions_of,
    hash_content,
)
from engine.records.batch_records import RecordDecision
from engine.records.production import Signature
from engine.records.tables import AuditRecord

RELEASE = "Record reviewed and released"


def _held_then_finished(line: Line) -> str:
    """A unit whose cut length failed its gate (held, released by hand), then crimped and
    tested."""
    (unit,) = line.release(1)
    assert line.cut(unit, length=500.8) == "hold"
    line.engine.release(actor=line.supervisor, item=unit, reason="Length accepted by engineering")
    assert line.crimp(unit) == "next"
    assert line.test(unit) == "completed"
    return unit


def _sign(line: Line, meaning: str = RELEASE, password: str | None = None) -> SignatureInput:
    return SignatureInput(line.quality, password or line.password, meaning)


def test_record_lists_every_operation_with_who_limits_equipment_lots_and_signatures(
    line: Line,
) -> None:
    unit = _held_then_finished(line)
    record = Records(line.engine).record("item", unit)
    header = record.header
    assert (header.title, header.product, header.quantity, header.status) == (
        "Device history record",
        "HA-100",
        1.0,
        "completed",
    )
    assert header.items == {unit: "completed"}
    assert header.config_versions[0].startswith("1 (")
    assert [s.operation for s in record.steps] == ["cut", "crimp", "test"]
    cut, crimp, test = record.steps
    assert (cut.operator, cut.title, cut.route, cut.route_reason) == (
        line.operator,
        "Cut and strip wire",
        "hold",
        "Cut length outside 500 ± 0.5 mm",
    )
    assert cut.values[0] == EnteredValue("length", "length", "500.8 mm", 490.0, 510.0, "mm", "pass")
    assert [(g.gate, g.outcome, g.evidence) for g in cut.gates] == [
        ("cut length", "fail", "length = 500.8 mm")
    ]
    assert [(m.part, m.lot, m.quantity, m.unit) for m in cut.materials] == [
        ("WIRE-18-RD", "W-001", 0.5, "m")
    ]
    assert (crimp.equipment, crimp.calibration_due, crimp.calibration_ok) == (
        "crimp-press-1",
        "2027-06-30",
        True,
    )
    assert [(c.tag, c.value, c.quality) for c in crimp.captures] == [
        ("press1.pressure", "70 bar", "good"),
        ("press1.strokes", "100", "good"),
    ]
    (signed,) = test.signatures
    assert (signed.username, signed.role, signed.meaning, signed.late) == (
        line.quality,
        "quality",
        "Reviewed and approved",
        False,
    )
    assert [(h.action, h.source, h.actor) for h in record.holds] == [
        ("hold", "gate", line.operator),
        ("release", "manual", line.supervisor),
    ]
    actions = [(a.entity, a.action) for a in record.audit]
    assert ("item", "release") in actions
    assert ("operation_run", "sign") in actions
    assert record.review.status == "open"
    assert record.review.content_hash == hash_content(
        {k: record.to_json()[k] for k in ("header", "steps", "holds", "nonconformances", "audit")}
    )


def test_record_opens_on_its_exceptions(line: Line) -> None:
    unit = _held_then_finished(line)
    record = Records(line.engine).record("item", unit)
    assert [(e.kind, e.summary) for e in record.exceptions] == [
        ("gate_failed", "gate 'cut length' failed (length = 500.8 mm)"),
        ("hold", "put on hold by a gate: Cut length outside 500 ± 0.5 mm"),
        ("override", f"hold released by {line.supervisor}: Length accepted by engineering"),
    ]
    assert record.open_exceptions == 3
    assert record.to_json()["exceptions"][0]["acknowledged"] is False


def test_release_waits_for_every_exception_then_locks_the_record(line: Line) -> None:
    unit = _held_then_finished(line)
    records = Records(line.engine)
    with pytest.raises(Conflict) as waiting:
        records.decide(
            actor=line.quality, kind="item", number=unit, decision="released", reason="",
            signature=_sign(line),
        )  # fmt: skip
    assert waiting.value.message == (
        f"3 exception(s) of the record of {unit} are not acknowledged yet (first: gate 'cut "
        "length' failed (length = 500.8 mm)); acknowledge each with a comment before releasing."
    )
    for exception in records.record("item", unit).exceptions:
        done = records.acknowledge(
            actor=line.quality, kind="item", number=unit, key=exception.key,
            comment="Within drawing tolerance, see ECO-12",
        )  # fmt: skip
        assert (done.acknowledged_by, done.comment) == (
            line.quality,
            "Within drawing tolerance, see ECO-12",
        )
    signed_hash = records.record("item", unit).review.content_hash
    result = records.decide(
        actor=line.quality, kind="item", number=unit, decision="released", reason="",
        signature=_sign(line),
    )  # fmt: skip
    assert (result.action, result.content_hash) == ("released", signed_hash)
    assert result.message == f"The record of {unit} was released, signed by {line.quality}."
    review = records.record("item", unit).review
    assert (review.status, review.locked, review.signed_hash) == ("released", True, signed_hash)
    with line.engine.db.session() as session:
        stored = session.scalars(select(RecordDecision.content_hash)).all()
        signature = session.execute(
            select(Signature.meaning, Signature.content_hash).where(
                Signature.record_type == "batch_record_decision"
            )
        ).one()
        audited = session.scalars(
            select(AuditRecord.new).where(
                AuditRecord.entity == "batch_record", AuditRecord.action == "released"
            )
        ).one()
    assert stored == [signed_hash]
    assert tuple(signature) == (RELEASE, signed_hash)
    assert json.loads(audited)["content_hash"] == signed_hash
    with pytest.raises(Conflict) as locked:
        records.acknowledge(
            actor=line.quality, kind="item", number=unit, key="hold:1", comment="late"
        )
    assert "is locked; acknowledging an exception is no longer possible" in locked.value.message
    assert AuditTrail(line.engine.db).verify().ok


def test_a_change_after_release_is_accepted_only_by_a_signed_amendment(line: Line) -> None:
    unit = _held_then_finished(line)
    records = Records(line.engine)
    for exception in records.record("item", unit).exceptions:
        records.acknowledge(
            actor=line.quality, kind="item", number=unit, key=exception.key, comment="ok"
        )
    records.decide(
        actor=line.quality, kind="item", number=unit, decision="released", reason="",
        signature=_sign(line),
    )  # fmt: skip
    line.engine.open_nonconformance(
        actor=line.quality, item=unit, defect_code="burr", description="Customer found a burr"
    )
    record = records.record("item", unit)
    assert record.review.changed_since_signed
    assert {e.kind for e in record.exceptions if not e.acknowledged} == {
        "nonconformance",
        "changed_after_signing",
    }
    with pytest.raises(Invalid) as meaning:
        records.amend(
            actor=line.quality, kind="item", number=unit, reason="NC-1 added",
            signature=_sign(line, "Reviewed and approved"),
        )  # fmt: skip
    assert meaning.value.message == (
        "The signature must mean 'Record amendment approved'; not 'Reviewed and approved'."
    )
    amended = records.amend(
        actor=line.quality, kind="item", number=unit, reason="NC-1 added after release",
        signature=_sign(line, "Record amendment approved"),
    )  # fmt: skip
    review = records.record("item", unit).review
    assert (review.status, review.signed_hash, review.changed_since_signed) == (
        "released",
        amended.content_hash,
        False,
    )
    assert [e.action for e in review.history] == ["released", "amended"]
    with pytest.raises(Conflict) as nothing:
        records.amend(
            actor=line.quality, kind="item", number=unit, reason="again",
            signature=_sign(line, "Record amendment approved"),
        )  # fmt: skip
    assert nothing.value.message == (
        f"Nothing in the record of {unit} changed since it was signed; there is nothing to amend."
    )
    assert AuditTrail(line.engine.db).verify().ok


def test_decisions_are_refused_with_a_reason_a_person_can_act_on(line: Line) -> None:
    unit = _held_then_finished(line)
    records = Records(line.engine)

    def decide(decision: str, reason: str, signature: SignatureInput, actor: str = "") -> None:
        records.decide(
            actor=actor or line.quality, kind="item", number=unit, decision=decision,
            reason=reason, signature=signature,
        )  # fmt: skip

    with pytest.raises(Invalid) as no_reason:
        decide("rejected", " ", _sign(line, "Record reviewed and rejected"))
    assert no_reason.value.message == (
        "Give a reason to reject a record; it goes into the record and the audit trail."
    )
    with pytest.raises(Forbidden) as operator:
        decide("rejected", "x", SignatureInput(line.operator, line.password, "x"), line.operator)
    assert operator.value.message.startswith(f"User '{line.operator}'")
    with pytest.raises(SignatureRefused):
        decide("rejected", "Bad", _sign(line, "Record reviewed and rejected", "wrong password"))
    rejected = records.decide(
        actor=line.quality, kind="item", number=unit, decision="rejected",
        reason="Length deviation not covered by an ECO",
        signature=_sign(line, "Record reviewed and rejected"),
    )  # fmt: skip
    assert rejected.action == "rejected"
    assert records.record("item", unit).review.status == "rejected"
    with pytest.raises(NotFound) as missing:
        records.record("item", "NOPE-1")
    assert (
        missing.value.message == "There is no unit or lot 'NOPE-1'; check the number on its label."
    )
    with pytest.raises(Invalid) as kind:
        records.record("workorder", unit)
    assert kind.value.message == "'workorder' is not a kind of record; did you mean 'work_order'?"
    assert AuditTrail(line.engine.db).verify().ok


def test_work_order_record_is_compiled_in_a_fixed_number_of_queries(line: Line) -> None:
    records = Records(line.engine)

    def queries(units: int) -> tuple[int, int]:
        numbers = line.release(units)
        for unit in numbers:
            line.cut(unit)
            line.crimp(unit)
        order = line.engine.item(numbers[0]).work_order
        count = 0

        def counted(*_: object) -> None:
            nonlocal count
            count += 1

        event.listen(line.engine.db.engine, "before_cursor_execute", counted)
        try:
            record = records.record("work_order", order)
        finally:
            event.remove(line.engine.db.engine, "before_cursor_execute", counted)
        assert len(record.steps) == 2 * units
        assert record.header.items == dict.fromkeys(numbers, "queued")
        return count, len(record.steps)

    few, _ = queries(1)
    many, steps = queries(4)
    assert steps == 8
    assert many == few, (few, many)
    assert many <= 20, many


def test_exceptions_name_late_signatures_overdue_calibration_and_bad_device_values() -> None:
    at = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)
    late = SignatureLine("quinn", "Quinn", "quality", "Reviewed", at, "ab" * 32, True)
    step = Step(
        run=7, item="U1", operation="crimp", title="Crimp", operator="olga",
        equipment="press", calibration_due="2026-11-01", calibration_ok=True, started_at=at,
        completed_at=at, route="rework", route_operation="crimp", route_reason="too high",
        config_version_id=1,
        values=(EnteredValue("height", "Height", "1.9 mm", 1.45, 1.65, "mm", "fail"),),
        captures=(CapturedValue("press1.pressure", "0 bar", "stale", None),),
        gates=(), materials=(), signatures=(late,),
    )  # fmt: skip
    found = exceptions_of([step], [], [], Review("open", "h", None, ()))
    assert [(e.key, e.kind, e.summary) for e in found] == [
        ("run:7:value:height", "out_of_limits", "Height = 1.9 mm is outside 1.45–1.65 mm"),
        ("run:7:rework", "rework", "sent to rework at 'crimp': too high"),
        ("run:7:calibration", "calibration_overdue",
         "press was used with its calibration due 2026-11-01"),
        ("run:7:capture:press1.pressure", "device_value",
         "press1.pressure was captured with quality 'stale' (0 bar): not a good device value"),
        ("run:7:late:quinn:Reviewed", "late_signature",
         "'Reviewed' signed by quinn more than 1 h after the act"),
    ]  # fmt: skip


def test_a_work_order_record_is_released_only_once_every_unit_is_finished(line: Line) -> None:
    finished = _held_then_finished(line)
    order = line.engine.item(finished).work_order
    records = Records(line.engine)
    for exception in records.record("work_order", order).exceptions:
        records.acknowledge(
            actor=line.quality, kind="work_order", number=order, key=exception.key, comment="ok"
        )
    (waiting,) = line.release(1)
    with pytest.raises(Conflict) as busy:
        records.decide(
            actor=line.quality, kind="work_order", number=line.engine.item(waiting).work_order,
            decision="released", reason="", signature=_sign(line),
        )  # fmt: skip
    assert busy.value.message == (
        f"{waiting} is queued; a record is released once every unit or lot in it is completed "
        "or scrapped."
    )
    released = records.decide(
        actor=line.quality, kind="work_order", number=order, decision="released", reason="",
        signature=_sign(line),
    )  # fmt: skip
    assert released.message == f"The record of work order {order} was released, signed by quinn."
    assert records.record("item", finished).review.status == "open"
