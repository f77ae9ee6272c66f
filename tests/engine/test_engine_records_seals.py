"""Every production record is under the audit chain: editing, deleting or slipping in a
measurement, a gate result or any other sealed record is named by ``audit verify``."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput
from engine.infra import audit, seals
from engine.records.base import APPEND_ONLY, CURRENT_STATE
from engine.records.production import (
    Disposition,
    GateResult,
    HoldEvent,
    Item,
    Measurement,
    Nonconformance,
    OperationRun,
    Signature,
    StartAttempt,
    WorkOrder,
)
from engine.records.tables import AuditRecord, Lot, User, UserRole


def _outside(line: Line) -> Session:
    """A plain session on the database, as someone with a SQL console would edit it."""
    return Session(line.engine.db.engine, expire_on_commit=False)


def _verify(line: Line) -> audit.Verdict:
    with line.engine.db.session() as session:
        return audit.verify(session)


def _made(line: Line) -> str:
    unit = line.release()[0]
    line.cut(unit)
    line.crimp(unit)
    return unit


def test_a_clean_record_verifies_with_every_production_row_sealed(line: Line) -> None:
    _made(line)
    verdict = _verify(line)
    with line.engine.db.session() as session:
        rows = sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (StartAttempt, OperationRun, Measurement, GateResult)
        )
    assert verdict.ok, verdict.problem
    assert verdict.sealed >= rows > 0
    assert verdict.describe().endswith(f"; {verdict.sealed} sealed records match their seals")


def test_an_edited_measurement_is_named(line: Line) -> None:
    _made(line)
    with _outside(line) as session, session.begin():
        target = session.scalars(select(Measurement).where(Measurement.field == "length")).one()
        session.execute(
            update(Measurement).where(Measurement.id == target.id).values(value_num=499.0)
        )
    verdict = _verify(line)
    assert not verdict.ok
    assert verdict.problem == (
        f"measurements row #{target.id} is not covered by the audit trail "
        "(it was edited, or inserted outside Ferrule)"
    )


def test_a_deleted_gate_result_is_named_with_the_record_that_sealed_it(line: Line) -> None:
    _made(line)
    with _outside(line) as session, session.begin():
        first = session.scalars(select(GateResult).order_by(GateResult.id)).first()
        assert first is not None
        session.execute(delete(GateResult).where(GateResult.id == first.id))
    verdict = _verify(line)
    assert not verdict.ok
    assert verdict.seq is not None
    assert verdict.problem == (
        f"a gate_results row sealed by record #{verdict.seq} is missing (it was deleted, or edited)"
    )


def test_a_measurement_slipped_in_is_named(line: Line) -> None:
    _made(line)
    with _outside(line) as session, session.begin():
        model = session.scalars(select(Measurement).order_by(Measurement.id)).first()
        assert model is not None
        copy: dict[str, Any] = {
            c.key: getattr(model, c.key) for c in Measurement.__table__.c if c.key != "id"
        }
        new_id = session.execute(
            insert(Measurement).values(**{**copy, "field": "extra"}).returning(Measurement.id)
        ).scalar_one()
    verdict = _verify(line)
    assert verdict.problem == (
        f"measurements row #{new_id} is not covered by the audit trail "
        "(it was edited, or inserted outside Ferrule)"
    )


def test_seals_live_in_the_hashed_audit_rows(line: Line) -> None:
    """Removing a seal from its audit row breaks the chain itself."""
    _made(line)
    with _outside(line) as session, session.begin():
        seq = session.scalars(
            select(AuditRecord.seq).where(AuditRecord.sealed != "").limit(1)
        ).one()
        session.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(sealed=""))
    verdict = _verify(line)
    assert verdict.problem == (f"record #{seq} was edited (its content no longer matches its hash)")


def test_holds_nonconformances_and_signed_dispositions_are_sealed(line: Line) -> None:
    unit = line.release()[0]
    line.engine.hold(actor=line.supervisor, item=unit, reason="check the crimp")
    line.engine.release(actor=line.supervisor, item=unit, reason="crimp is fine")
    nc = line.engine.open_nonconformance(
        actor=line.quality, item=unit, defect_code="nicked-insulation", description="cut sleeve"
    )
    line.engine.disposition(
        actor=line.quality, nonconformance_id=nc.id, decision="scrap", reason="cut to the core",
        signature=SignatureInput(line.quality, line.password, "Reviewed and approved"),
    )  # fmt: skip
    verdict = _verify(line)
    assert verdict.ok, verdict.problem
    with line.engine.db.session() as session:
        written = sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (HoldEvent, Nonconformance, Disposition, Signature)
        )
        every_row = sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (*seals.sealed_tables(APPEND_ONLY), *seals.sealed_tables(CURRENT_STATE))
        )
    assert written == 5  # hold, release, the NC, its disposition and its signature
    assert verdict.sealed == every_row


# ---------------------------------------------------------------- rows holding current state


def test_rows_ferrule_changes_in_place_verify_after_every_change(line: Line) -> None:
    unit = _made(line)
    line.engine.hold(actor=line.supervisor, item=unit, reason="check the crimp")
    verdict = _verify(line)
    assert verdict.ok, verdict.problem


def test_an_items_status_edited_outside_ferrule_is_named(line: Line) -> None:
    unit = _made(line)
    with _outside(line) as session, session.begin():
        item = session.scalars(select(Item).where(Item.number == unit)).one()
        session.execute(update(Item).where(Item.id == item.id).values(status="completed"))
    verdict = _verify(line)
    assert verdict.seq is not None
    assert verdict.problem == (
        f"items row #{item.id} was edited outside Ferrule (it is not as record #{verdict.seq} "
        "sealed it)"
    )


def test_a_lots_quantity_edited_outside_ferrule_is_named(line: Line) -> None:
    _made(line)
    with _outside(line) as session, session.begin():
        lot = session.scalars(select(Lot).where(Lot.number == "W-001")).one()
        session.execute(update(Lot).where(Lot.id == lot.id).values(quantity=100.0))
    verdict = _verify(line)
    assert verdict.problem.startswith(f"lots row #{lot.id} was edited outside Ferrule")


def test_a_role_granted_outside_ferrule_is_named(line: Line) -> None:
    with _outside(line) as session, session.begin():
        user = session.scalars(select(User).where(User.username == line.operator)).one()
        session.execute(
            insert(UserRole).values(user_id=user.id, role="admin", granted_by="mallory")
        )
    verdict = _verify(line)
    assert verdict.problem == (
        f'user_roles row #["{user.id}","admin"] is not covered by the audit trail '
        "(it was edited, or inserted outside Ferrule)"
    )


def test_a_user_deleted_outside_ferrule_is_named(line: Line) -> None:
    with _outside(line) as session, session.begin():
        user = User(username="temp", full_name="Temp", password_hash=None)
        session.add(user)
    with line.engine.db.transaction() as session:  # Ferrule records the user it did not make
        audit.record(session, actor="t", action="noop", entity="x", entity_id=1)
    assert _verify(line).problem.startswith(f"users row #{user.id} is not covered")
    with _outside(line) as session, session.begin():
        session.execute(delete(User).where(User.id == user.id))
    operator = _verify(line)
    assert operator.ok, operator.problem


def test_a_work_order_deleted_outside_ferrule_is_named(line: Line) -> None:
    line.release()
    with _outside(line) as session, session.begin():
        order = session.scalars(select(WorkOrder)).one()
        session.execute(delete(Item).where(Item.work_order_id == order.id))
    verdict = _verify(line)
    assert verdict.problem.startswith("items row #")
    assert verdict.problem.endswith("is missing (it was deleted outside Ferrule)")


def test_ferrule_refuses_to_change_an_append_only_record(line: Line) -> None:
    _made(line)
    refused = pytest.raises(TypeError, match="measurements is append-only")
    with refused, line.engine.db.transaction() as session:
        session.execute(update(Measurement).values(value_num=1.0))
