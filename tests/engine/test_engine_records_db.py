"""The database layer: SQLite pragmas, BEGIN IMMEDIATE, aware UTC timestamps, busy → Conflict."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from engine.errors import Conflict
from engine.infra.db import Database, configured_url
from engine.records.tables import User


def _pragmas(db: Database) -> dict[str, object]:
    with db.transaction() as session:
        return {
            name: session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }


def test_sqlite_connections_run_with_wal_foreign_keys_busy_timeout_and_full_sync(
    tmp_path: Path,
) -> None:
    """An acknowledged command survives a power cut: WAL with synchronous=FULL by default."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'f.db'}")
    assert _pragmas(db) == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 2,
    }
    assert db.synchronous == "FULL"


def test_a_weaker_sqlite_sync_is_an_explicit_url_option(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'f.db'}?synchronous=normal")
    assert _pragmas(db)["synchronous"] == 1
    assert db.synchronous == "NORMAL"
    assert db.url == f"sqlite:///{tmp_path / 'f.db'}?synchronous=normal"
    with pytest.raises(ValueError) as wrong:
        Database.from_url(f"sqlite:///{tmp_path / 'f.db'}?synchronous=off")
    assert str(wrong.value) == (
        "synchronous=off is not a SQLite sync mode Ferrule runs with; use extra, full (the "
        "default) or normal."
    )


def test_a_write_transaction_holds_the_sqlite_write_lock_from_its_first_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.db"
    db = Database.from_url(f"sqlite:///{path}")
    db.create_all()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with db.transaction() as session:
        session.execute(select(User.id)).all()  # a read only: deferred BEGIN would take no lock
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the transaction is over
    other.execute("ROLLBACK")
    other.close()


def test_a_read_session_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    db = Database.from_url(f"sqlite:///{path}")
    db.create_all()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with db.session() as session:
        session.execute(select(User.id)).all()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    other.close()


def test_waiting_past_the_busy_timeout_is_a_conflict_to_retry(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    db = Database.from_url(f"sqlite:///{path}", busy_timeout_ms=10)
    db.create_all()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(Conflict) as caught, db.transaction() as session:
        session.execute(select(User.id)).all()
    other.execute("ROLLBACK")
    other.close()
    assert caught.value.message == (
        "The database is busy with another change; try the command again."
    )


def test_the_url_comes_from_ferrule_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FERRULE_DATABASE_URL", raising=False)
    assert configured_url() == "sqlite:///var/ferrule.db"
    monkeypatch.setenv("FERRULE_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:5/x")
    assert configured_url() == "postgresql+psycopg://u@127.0.0.1:5/x"


def test_in_memory_database_is_shared_by_every_session() -> None:
    db = Database.from_url("sqlite://")
    db.create_all()
    with db.transaction() as session:
        session.add(User(username="a", full_name="A", active=True))
    with db.session() as session:
        assert session.scalars(select(User.username)).all() == ["a"]


def test_timestamps_come_back_aware_utc(db: Database) -> None:
    berlin_noon = dt.datetime(
        2026, 7, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    with db.transaction() as session:
        session.add(User(username="a", full_name="A", active=True, created_at=berlin_noon))
    with db.session() as session:
        created = session.scalars(select(User.created_at)).one()
    assert created.tzinfo is dt.UTC
    assert created == berlin_noon
    assert created.hour == 10


def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="timestamps must be timezone-aware"):  # noqa: SIM117
        with db.transaction() as session:
            session.add(User(username="a", active=True, created_at=dt.datetime(2026, 1, 1)))


def test_a_unique_key_inserted_by_two_transactions_at_once_is_a_conflict(db: Database) -> None:
    """The second insert waits for the first transaction's lock, then collides with its row."""
    inserted, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def first() -> None:
        with db.transaction() as session:
            session.add(User(username="x", full_name="", active=True))
            session.flush()
            inserted.set()
            release.wait(timeout=30)

    def second() -> None:
        try:
            with db.transaction() as session:
                session.add(User(username="x", full_name="", active=True))
                session.flush()
            outcome.append(None)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    one = threading.Thread(target=first)
    one.start()
    assert inserted.wait(timeout=30)
    two = threading.Thread(target=second)
    two.start()
    if not db.is_sqlite:  # on SQLite the second waits at BEGIN IMMEDIATE, before or after release
        _wait_for_a_lock_wait(db)
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)
    (error,) = outcome
    assert isinstance(error, Conflict)
    assert error.message == (
        "Another command created the same record at the same moment; reload and try again."
    )


def _wait_for_a_lock_wait(db: Database, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with db.session() as session:
            if session.execute(query).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first one's lock")
