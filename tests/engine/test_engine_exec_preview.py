"""Previewing a start, listing items by status, the callers' roles in one query, and the
hot path's compiled statements."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import func, select

from engine.access import callers, people
from engine.access import tokens as access
from engine.errors import Conflict, Invalid, NotFound
from engine.infra.statements import Sql, insert_rows
from engine.records.base import utcnow
from engine.records.production import StartAttempt
from engine.records.tables import AuditRecord, IdempotencyKey


def _attempts(line: Line) -> int:
    with line.engine.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(StartAttempt)) or 0)


def test_preview_evaluates_every_interlock_and_records_nothing(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    recorded = _attempts(line)
    line.tags.set("press1.pressure", 50.0)
    preview = line.engine.preview_start(actor=line.operator, item=unit, operation="crimp")
    assert (preview.item, preview.operation, preview.problem) == (unit, "crimp", "")
    assert not preview.allowed
    failing = [i.check["name"] for i in preview.interlocks if not i.passed]
    assert failing == ["Press pressure is outside its 60–80 bar window"]
    pressure = next(i for i in preview.interlocks if not i.passed)
    assert pressure.tags == ("press1.pressure",)
    seen = [r["display"] for c in pressure.check["checks"] for r in c["readings"]]
    assert seen == ["50 bar"]
    (reading,) = pressure.readings
    assert (reading.key, reading.value, reading.unit, reading.quality) == (
        "press1.pressure",
        50.0,
        "bar",
        "good",
    )
    assert _attempts(line) == recorded
    line.tags.set("press1.pressure", 70.0)
    assert line.engine.preview_start(actor=line.operator, item=unit, operation="crimp").allowed
    assert line.engine.item(unit).status == "queued"
    assert _attempts(line) == recorded


def test_preview_reports_the_state_problem_instead_of_raising(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.hold(actor=line.supervisor, item=unit, reason="wire spool mislabelled")
    preview = line.engine.preview_start(actor=line.operator, item=unit, operation="cut")
    assert preview.problem == (
        f"Unit {unit} is on hold (reason: wire spool mislabelled); a supervisor must release it "
        "before it can start 'cut'."
    )
    assert not preview.allowed
    assert preview.to_json()["problem"] == preview.problem


def test_items_in_status_lists_held_items_with_their_reason(line: Line) -> None:
    first, second = line.release(2)
    line.engine.hold(actor=line.supervisor, item=second, reason="wire spool mislabelled")
    held = line.engine.items_in_status("on_hold", "nonconforming")
    assert [(i.number, i.status, i.status_reason, i.current_operation) for i in held] == [
        (second, "on_hold", "wire spool mislabelled", "cut")
    ]
    assert held[0].work_order
    assert [i.number for i in line.engine.items_in_status("queued")] == [first]
    with pytest.raises(Invalid) as refused:
        line.engine.items_in_status("held")
    assert refused.value.message == (
        "'held' is not an item status; use one of queued, in_progress, on_hold, nonconforming, "
        "completed, scrapped."
    )


def test_caller_roles_in_one_query(line: Line) -> None:
    db = line.engine.db
    with db.transaction() as session:
        _, secret = access.create_token(
            session, name="cell", username=line.operator, roles=("operator",), created_by="t"
        )
    with db.engine.connect() as connection:
        assert callers.user_roles(connection, line.operator) == frozenset({"operator"})
        token = callers.token_roles(connection, secret, utcnow())
        assert token == callers.CallerRoles(line.operator, frozenset({"operator"}))
        assert callers.token_roles(connection, secret + "x", utcnow()) is None
        with pytest.raises(NotFound) as unknown:
            callers.user_roles(connection, "nobody")
    assert unknown.value.message == (
        "There is no user 'nobody'; check the spelling, or add the user with "
        "`ferrule users add nobody`."
    )
    with db.transaction() as session:
        people.deactivate_user(session, line.operator, actor="t", reason="left")
    with db.engine.connect() as connection:
        assert callers.user_roles(connection, line.operator) == frozenset()
        token = callers.token_roles(connection, secret, utcnow())
        assert token == callers.CallerRoles(line.operator, frozenset())
    with db.session() as session:
        tokens = access.list_tokens(session)
    with db.transaction() as session:
        access.revoke_token(session, tokens[0].id, actor="t", now=utcnow())
    with db.engine.connect() as connection:
        assert callers.token_roles(connection, secret, utcnow()) is None


def test_a_duplicate_key_through_the_driver_is_a_conflict(line: Line) -> None:
    statement = insert_rows(IdempotencyKey.__table__)  # type: ignore[arg-type]
    row = {
        "key": "k1",
        "command": "c",
        "fingerprint": "f",
        "result": "{}",
        "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }
    with line.engine.db.transaction() as session:
        Sql(session).executemany(statement, [row])
    with pytest.raises(Conflict) as conflict, line.engine.db.transaction() as session:
        Sql(session).executemany(statement, [row])
    assert conflict.value.message == (
        "Another command created the same record at the same moment; reload and try again."
    )
    with line.engine.db.session() as session:
        stored = session.scalar(select(IdempotencyKey.created_at))
        assert stored == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        assert session.scalar(select(func.count()).select_from(AuditRecord))
