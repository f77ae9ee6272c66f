"""Gates, sampling, rework limits, holds, nonconformances and electronic signatures."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import pytest
from engine_exec_support import CRIMP_DATA, Line, line  # noqa: F401
from sqlalchemy import select

from engine.access.signatures import SignatureInput, SignatureRefused
from engine.commands.bom import ConsumptionInput
from engine.errors import Blocked, Conflict, Forbidden, Invalid
from engine.records.production import GateResult, Signature
from engine.records.tables import AuditRecord


def _to_crimp(line: Line, unit: str) -> None:
    assert line.cut(unit) == "next"


def test_pull_test_is_sampled_every_tenth_unit(line: Line) -> None:
    units = line.release(11)
    for unit in (units[0], units[1], units[10]):
        _to_crimp(line, unit)
    assert line.crimp(units[0], pull_force=52.0) == "nonconformance"
    assert line.crimp(units[1], pull_force=52.0) == "next"  # not sampled: the 2nd unit
    assert line.crimp(units[10], pull_force=52.0) == "nonconformance"  # the 11th is
    with line.engine.db.session() as session:
        rows = session.execute(
            select(GateResult.gate, GateResult.outcome, GateResult.sampled).order_by(GateResult.id)
        ).all()
    pull = [tuple(r) for r in rows if r.gate == "pull test"]
    assert pull == [
        ("pull test", "fail", True),
        ("pull test", "skipped", False),
        ("pull test", "fail", True),
    ]


def test_rework_loop_limit_opens_a_nonconformance(line: Line) -> None:
    (unit,) = line.release(1)
    _to_crimp(line, unit)
    assert line.crimp(unit, crimp_height=1.8) == "rework"
    assert line.crimp(unit, crimp_height=1.8) == "rework"
    assert line.crimp(unit, crimp_height=1.8) == "nonconformance"
    view = line.engine.item(unit)
    assert view.rework_counts == {"crimp": 2}
    (nc,) = line.engine.nonconformances(open_only=True)
    assert nc.description == (
        "Crimp height or appearance out of specification; "
        "already reworked at 'crimp' 2 times (max 2)"
    )
    with pytest.raises(Conflict) as stopped:
        line.engine.start_operation(actor=line.operator, item=unit, operation="test")
    assert stopped.value.message == (
        f"Unit {unit} has an open nonconformance ({nc.description}); quality must disposition it "
        "before it can start 'test'."
    )


def test_cut_length_gate_holds_and_release_needs_role_and_reason(line: Line) -> None:
    (unit,) = line.release(1)
    assert line.cut(unit, length=501.0) == "hold"
    with pytest.raises(Conflict) as held:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert held.value.message == (
        f"Unit {unit} is on hold (reason: Cut length outside 500 ± 0.5 mm); a supervisor must "
        "release it before it can start 'crimp'."
    )
    with pytest.raises(Forbidden) as operator:
        line.engine.release(actor=line.operator, item=unit, reason="fine")
    assert operator.value.message == (
        f"User 'olga' may not release Unit {unit}: that needs the role 'quality' or 'supervisor'; "
        "ask an admin to grant it."
    )
    with pytest.raises(Invalid) as no_reason:
        line.engine.release(actor=line.supervisor, item=unit, reason="  ")
    assert no_reason.value.message == (
        f"Give a reason to release Unit {unit}; it goes into the record and the audit trail."
    )
    released = line.engine.release(actor=line.supervisor, item=unit, reason="deviation D-17")
    assert (released.status, released.current_operation) == ("queued", "crimp")


def test_manual_hold_of_a_started_unit_resumes_in_progress(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    held = line.engine.hold(actor=line.supervisor, item=unit, reason="wire spool mislabelled")
    assert held.status == "on_hold"
    with pytest.raises(Conflict) as again:
        line.engine.hold(actor=line.supervisor, item=unit, reason="x")
    assert (
        again.value.message == f"Unit {unit} is already on hold (reason: wire spool mislabelled)."
    )
    released = line.engine.release(actor=line.supervisor, item=unit, reason="label checked")
    assert released.status == "in_progress"


def test_signature_is_required_checked_and_bound(line: Line) -> None:
    (unit,) = line.release(1)
    _to_crimp(line, unit)
    line.crimp(unit)
    line.engine.start_operation(actor=line.operator, item=unit, operation="test")
    housing = [ConsumptionInput("HOUSING-4P", "H-001")]
    with pytest.raises(Forbidden) as missing:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="test", consume=housing
        )
    assert missing.value.message == (
        f"'test' on Unit {unit} needs a signature by a user with the role 'quality' meaning "
        "'Reviewed and approved'; sign with your username and password."
    )
    with pytest.raises(Forbidden) as wrong_role:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="test", consume=housing,
            signatures=[SignatureInput(line.supervisor, line.password, "Reviewed and approved")],
        )  # fmt: skip
    assert wrong_role.value.message == (
        f"User 'sam' cannot sign 'Reviewed and approved' for 'test' on Unit {unit}: that needs "
        "the role 'quality'."
    )
    with pytest.raises(Invalid) as meaning:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="test", consume=housing,
            signatures=[line.signature("Looks fine")],
        )  # fmt: skip
    assert meaning.value.message == (
        f"The signature for 'test' on Unit {unit} must state 'Reviewed and approved', not "
        "'Looks fine'."
    )
    result = line.engine.complete_operation(
        actor=line.operator, item=unit, operation="test", consume=housing,
        signatures=[line.signature()],
    )  # fmt: skip
    assert result.route == "completed"
    with line.engine.db.session() as session:
        (signature,) = session.scalars(select(Signature)).all()
    assert (signature.username, signature.full_name, signature.meaning) == (
        "quinn",
        "Quinn",
        "Reviewed and approved",
    )
    assert (signature.record_type, signature.record_id) == ("operation_run", result.run_id)
    assert len(signature.content_hash) == 64


def test_wrong_password_is_refused_and_audited(line: Line) -> None:
    (unit,) = line.release(1)
    _to_crimp(line, unit)
    line.crimp(unit)
    line.engine.start_operation(actor=line.operator, item=unit, operation="test")
    with pytest.raises(SignatureRefused) as refused:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="test",
            consume=[ConsumptionInput("HOUSING-4P", "H-001")],
            signatures=[SignatureInput(line.quality, "guess", "Reviewed and approved")],
        )  # fmt: skip
    assert refused.value.message == (
        "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
        "username and password."
    )
    with line.engine.db.session() as session:
        row = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "signature_refused")
        ).one()
    assert (row.actor, row.entity_id) == ("quinn", f"{unit}/test")
    assert line.engine.item(unit).status == "in_progress"


def test_nonconformance_disposition_rework_with_signature(line: Line) -> None:
    (unit,) = line.release(1)
    _to_crimp(line, unit)
    assert line.crimp(unit, pull_force=40.0) == "nonconformance"
    (nc,) = line.engine.nonconformances(open_only=True)
    sign = SignatureInput(line.quality, line.password, "Disposition approved")
    with pytest.raises(Forbidden) as operator:
        line.engine.disposition(
            actor=line.operator, nonconformance_id=nc.id, decision="rework", reason="re-crimp",
            signature=SignatureInput(line.operator, line.password, "ok"), target_operation="crimp",
        )  # fmt: skip
    assert operator.value.message == (
        f"User 'olga' may not disposition nonconformance #{nc.id}: that needs the role "
        "'quality'; ask an admin to grant it."
    )
    with pytest.raises(Invalid) as bad_target:
        line.engine.disposition(
            actor=line.quality, nonconformance_id=nc.id, decision="rework", reason="re-crimp",
            signature=sign, target_operation="crim",
        )  # fmt: skip
    assert bad_target.value.message == (
        "Routing 'harness-a' has no operation 'crim'; did you mean 'crimp'?"
    )
    decided = line.engine.disposition(
        actor=line.quality, nonconformance_id=nc.id, decision="rework", reason="re-crimp",
        signature=sign, target_operation="crimp",
    )  # fmt: skip
    assert (decided.decision, decided.decided_by, decided.open) == ("rework", "quinn", False)
    view = line.engine.item(unit)
    assert (view.status, view.current_operation) == ("queued", "crimp")
    with pytest.raises(Conflict) as twice:
        line.engine.disposition(
            actor=line.quality, nonconformance_id=nc.id, decision="scrap", reason="x",
            signature=sign,
        )  # fmt: skip
    assert twice.value.message == (
        f"Nonconformance #{nc.id} was already dispositioned (rework by quinn); reload to see it."
    )
    with line.engine.db.session() as session:
        signature = session.scalars(select(Signature)).one()
    assert (signature.record_type, signature.meaning) == ("disposition", "Disposition approved")
    assert CRIMP_DATA["crimp_height"] == 1.55


def test_manual_nonconformance_and_scrap(line: Line) -> None:
    (unit,) = line.release(1)
    nc = line.engine.open_nonconformance(
        actor=line.operator,
        item=unit,
        defect_code="nicked-insulation",
        description="insulation nicked",
    )
    assert nc.open and nc.operation == "cut"
    for meaning, said in (
        ("Scrap approved", "'Scrap approved' is not a meaning a disposition's signature can state"),
        ("  ", "State the meaning of your signature"),
    ):
        signature = SignatureInput(line.quality, line.password, meaning)
        with pytest.raises(Invalid) as refused:
            line.engine.disposition(
                actor=line.quality, nonconformance_id=nc.id, decision="scrap",
                reason="not repairable", signature=signature,
            )  # fmt: skip
        assert (refused.value.message, refused.value.field) == (
            f"{said}; choose 'Disposition approved' or 'Reviewed and approved'.",
            "meaning",
        )
    assert line.engine.nonconformance(nc.id).open
    line.engine.disposition(
        actor=line.quality, nonconformance_id=nc.id, decision="scrap", reason="not repairable",
        signature=SignatureInput(line.quality, line.password, "Reviewed and approved"),
    )  # fmt: skip
    view = line.engine.item(unit)
    assert (view.status, view.status_reason) == ("scrapped", "not repairable")


def test_a_gate_that_cannot_be_decided_says_why_the_value_is_missing(line: Line) -> None:
    unit = line.release()[0]
    line.cut(unit)
    line.crimp(unit)
    line.engine.start_operation(actor=line.operator, item=unit, operation="test")
    line.tags.set_bad("tester.resistance", "tester: connection refused (since 3 s ago)")
    with pytest.raises(Blocked) as blocked:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="test",
            consume=[ConsumptionInput("HOUSING-4P", "H-001")], signatures=[line.signature()],
        )  # fmt: skip
    assert blocked.value.code == "gate_unknown"
    assert blocked.value.message == (
        f"Cannot complete 'test' on Unit {unit}: gate 'continuity' cannot be decided "
        "(tester.resistance is unavailable: tester: connection refused (since 3 s ago)); "
        "check the device connection and try again."
    )
