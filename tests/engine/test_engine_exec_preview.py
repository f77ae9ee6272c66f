"""Previewing a start, listing items by status, the callers' roles in one query, and the
hot path's compiled statements."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import Connection, func, select, update

from engine.access import callers, people
from engine.access import tokens as access
from engine.errors import Conflict, Invalid, NotFound
from engine.facade.access import Access
from engine.infra.db import Database
from engine.infra.statements import Sql, insert_rows
from engine.records.base import utcnow
from engine.records.production import StartAttempt
from engine.records.tables import ApiToken, AuditRecord, IdempotencyKey


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


class _CountingCursor:
    """A DBAPI cursor that notes every statement it runs in ``sent``."""

    def __init__(self, cursor: Any, sent: list[str]) -> None:
        self._cursor, self._sent = cursor, sent

    def execute(self, statement: str, *args: Any) -> Any:
        self._sent.append(statement)
        return self._cursor.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def _queries(connection: Connection) -> Iterator[list[str]]:
    """The statements sent to the database on ``connection`` inside the block, whether through
    SQLAlchemy or on the DBAPI cursor (engine.infra.statements); a BEGIN is no query."""
    pooled = connection.connection
    cursor = pooled.cursor
    sent: list[str] = []

    def counting(*args: Any, **kwargs: Any) -> _CountingCursor:
        return _CountingCursor(cursor(*args, **kwargs), sent)

    setattr(pooled, "cursor", counting)  # noqa: B010  (the pooled connection's own, for a while)
    queries: list[str] = []
    try:
        yield queries
    finally:
        delattr(pooled, "cursor")
        queries += [s for s in sent if not s.lstrip().upper().startswith("BEGIN")]


def _last_seq(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.max(AuditRecord.seq))) or 0)


def test_caller_roles_in_one_query(line: Line) -> None:
    db = line.engine.db
    signed_in = Access(db).sign_in(username=line.operator, password=line.password, address="t")
    assert signed_in.ok
    with db.transaction() as session:
        _, secret = access.create_token(
            session, name="cell", username=line.operator, roles=("operator",), created_by="t"
        )
    with db.engine.connect() as connection:
        with _queries(connection) as sent:
            roles = callers.session_roles(connection, line.operator, signed_in.session)
        assert (roles, len(sent)) == (frozenset({"operator"}), 1)
        with _queries(connection) as sent:
            token = callers.token_roles(connection, secret, utcnow())
        assert (token, len(sent)) == (
            callers.CallerRoles(line.operator, frozenset({"operator"})),
            1,
        )
        assert callers.token_roles(connection, secret + "x", utcnow()) is None
        with pytest.raises(NotFound) as unknown:
            callers.session_roles(connection, "nobody", 0)
    assert unknown.value.message == (
        "There is no user 'nobody'; check the spelling, or add the user with "
        "`ferrule users add nobody`."
    )
    # A revoked role takes effect at once: the session ends, the token is revoked, and a session
    # begun after it has the role no more.
    with db.transaction() as session:
        people.grant_role(session, line.operator, "supervisor", actor="t", plant=line.plant)
    after_grant = _last_seq(db)
    with db.transaction() as session:
        _, secret = access.create_token(
            session, name="cell", username=line.operator, roles=("operator",), created_by="t"
        )
    with db.engine.connect() as connection:
        assert callers.session_roles(connection, line.operator, signed_in.session) is None
        roles = callers.session_roles(connection, line.operator, after_grant)
        assert roles == frozenset({"operator", "supervisor"})
    with db.transaction() as session:
        people.revoke_role(session, line.operator, "supervisor", actor="t", reason="moved")
    after_revoke = _last_seq(db)
    with db.engine.connect() as connection:
        assert callers.session_roles(connection, line.operator, after_grant) is None
        assert callers.token_roles(connection, secret, utcnow()) is None
        roles = callers.session_roles(connection, line.operator, after_revoke)
        assert roles == frozenset({"operator"})
    # A deactivated user has no roles: every session of theirs has ended, even one counted from
    # the deactivation itself, and a token that somehow escaped revocation acts with no role.
    with db.transaction() as session:
        _, secret = access.create_token(
            session, name="cell", username=line.operator, roles=("operator",), created_by="t"
        )
        people.deactivate_user(session, line.operator, actor="t", reason="left")
    after_deactivation = _last_seq(db)
    with db.engine.connect() as connection:
        assert callers.session_roles(connection, line.operator, after_revoke) is None
        assert callers.session_roles(connection, line.operator, after_deactivation) is None
        assert callers.token_roles(connection, secret, utcnow()) is None
    with db.transaction() as session:
        session.execute(update(ApiToken).values(revoked_at=None))
    with db.engine.connect() as connection:
        token = callers.token_roles(connection, secret, utcnow())
    assert token == callers.CallerRoles(line.operator, frozenset())


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


def test_preview_says_why_a_value_is_unavailable(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    refused = "press1: connection refused (since 12 s ago)"
    line.tags.set_bad("press1.pressure", refused)
    preview = line.engine.preview_start(actor=line.operator, item=unit, operation="crimp")
    pressure = next(i for i in preview.interlocks if i.tags == ("press1.pressure",))
    (reading,) = pressure.readings
    assert (reading.value, reading.quality, reading.reason) == (None, "bad", refused)
    assert pressure.why == (
        "Press pressure is outside its 60–80 bar window (cannot be checked: press1.pressure is "
        "unavailable: press1: connection refused (since 12 s ago))"
    )
    fault = next(i for i in preview.interlocks if i.tags == ("press1.fault",))
    assert (fault.passed, fault.why) == (True, "")
    down = next(i for i in preview.interlocks if i.check["name"] == "crimp-press-1 not down")
    assert down.why == (
        "Equipment crimp-press-1 is down (equipment.state = down because press1.pressure is "
        "unavailable: press1: connection refused (since 12 s ago))"
    )
    assert down.check["checks"][0]["readings"] == [
        {
            "name": "equipment.state",
            "display": "down",
            "available": True,
            "reason": "press1.pressure is unavailable: press1: connection refused (since 12 s ago)",
        }
    ]
    (api_check,) = [c for c in preview.to_json()["checks"] if c["tags"] == ["press1.pressure"]]
    assert api_check["checks"][0]["readings"] == [
        {"name": "press1.pressure", "display": "unavailable", "available": False, "reason": refused}
    ]
