"""The database: one engine per URL, and ``transaction()`` as the engine's unit of work.

SQLite is the embedded default (``sqlite:///var/ferrule.db``); PostgreSQL is chosen with the
environment variable ``FERRULE_DATABASE_URL``. On SQLite every connection runs with WAL, foreign
keys, a 5 s busy timeout and ``synchronous=FULL`` (an acknowledged command survives a power cut;
``?synchronous=normal`` on the URL trades that for speed, explicitly), and a write transaction
starts with ``BEGIN IMMEDIATE`` so that a read-modify-write holds the write lock from its first
read (with SQLite's deferred BEGIN two writers can both read, and one update is lost).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool

from engine.errors import Conflict
from engine.infra import audit, seals
from engine.infra.statements import Sql
from engine.records.base import Base

DEFAULT_URL = "sqlite:///var/ferrule.db"
URL_VARIABLE = "FERRULE_DATABASE_URL"
BUSY_TIMEOUT_MS = 5000
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON")
SYNC_OPTION = "synchronous"  # the URL option: sqlite:///var/ferrule.db?synchronous=normal
SYNC_MODES = ("EXTRA", "FULL", "NORMAL")
DEFAULT_SYNC = "FULL"
# Conflict codes a retry of the whole command can resolve (another command held or changed the
# same rows); a conflict of the domain (a wrong state, a reused key) has its own code.
BUSY, CONCURRENT_CHANGE, DUPLICATE_RECORD = "database_busy", "concurrent_change", "duplicate_record"
RETRYABLE_CODES = frozenset({BUSY, CONCURRENT_CHANGE})
_BEGIN_OPTION = "ferrule_sqlite_begin"
# PostgreSQL SQLSTATEs that mean "someone else got there first; retrying may succeed".
_PG_RETRYABLE = {"40001", "40P01", "55P03"}
_PG_DUPLICATE = "23505"  # a unique key two concurrent transactions both inserted


def configured_url() -> str:
    """The database URL: ``FERRULE_DATABASE_URL`` if set, else the embedded SQLite file."""
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


# The audit row that seals records a command wrote without appending an audit row after them.
_SEAL_ONLY = audit.Change("ferrule", "seal", "records", "", reason="records written")


class Database:
    """A Ferrule database. Use :meth:`transaction` for commands and :meth:`session` for reads."""

    def __init__(
        self, engine: Engine, *, synchronous: str | None = None, url: URL | None = None
    ) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.synchronous = synchronous  # SQLite's sync mode (None on PostgreSQL)
        self._url = url or engine.url  # as opened, with Ferrule's own options
        writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        info = {"database": self}
        self._writes = sessionmaker(bind=writer, expire_on_commit=False, info=info)
        event.listen(self._writes, "after_flush", seals.after_flush)
        event.listen(self._writes, "do_orm_execute", seals.on_execute)
        self._reads = sessionmaker(bind=engine, expire_on_commit=False, info=info)

    @classmethod
    def from_url(
        cls,
        url: str | None = None,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        **engine_options: Any,
    ) -> Database:
        """Open the database at ``url`` (default: :func:`configured_url`).

        ``sqlite://`` (no path) is a private in-memory database shared by every session, as used by
        ``ferrule test``. A SQLite file's folder is created when missing. ``busy_timeout_ms`` is
        how long a SQLite writer waits for another one's lock before giving up; the URL option
        ``synchronous`` (see :func:`sync_mode`) sets SQLite's sync mode.
        """
        url = url or configured_url()
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return cls(create_engine(url, pool_pre_ping=True, **engine_options))
        synchronous = sync_mode(url)
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:
            engine_options.setdefault("poolclass", StaticPool)
        elif parsed.database is not None:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        bare = parsed.difference_update_query([SYNC_OPTION])
        engine = create_engine(bare, connect_args=connect_args, **engine_options)
        _configure_sqlite(engine, busy_timeout_ms, synchronous)
        return cls(engine, synchronous=synchronous, url=parsed)

    @property
    def url(self) -> str:
        """The URL without its password (with the options it was opened with)."""
        return self._url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls everything back on an error.

        Lock contention that outlasts the busy timeout (SQLite), a serialization failure or
        deadlock (PostgreSQL), or an ORM update whose row's revision moved on becomes
        :class:`~engine.errors.Conflict`; those in :data:`RETRYABLE_CODES` are safe to retry.
        """
        try:
            with self._writes() as session, session.begin():
                yield session
                session.flush()
                if seals.pending(session.info):
                    audit.append(Sql(session), [_SEAL_ONLY])
        except StaleDataError as exc:
            raise Conflict(
                "Another command changed the same record a moment ago; reload and try again.",
                code=CONCURRENT_CHANGE,
            ) from exc
        except DBAPIError as exc:
            conflict = _conflict(exc)
            if conflict is None:
                raise
            raise conflict from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading (on SQLite its transaction does not take the write lock)."""
        with self._reads() as session:
            yield session

    def create_all(self) -> None:
        """Create every table directly from the models (tests and ``ferrule test``; production
        databases are created by ``ferrule db upgrade``)."""
        load_models()
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def database_of(session: Session) -> Database:
    """The :class:`Database` a session was opened from."""
    database = session.info.get("database")
    if not isinstance(database, Database):
        raise TypeError("this session was not opened by engine.infra.db.Database")
    return database


TABLE_MODULES = (
    "engine.records.tables",
    "engine.records.events",
    "engine.records.production",
    "engine.records.equipment_care",
    "engine.records.batch_records",
    "engine.records.spc",
    "engine.records.downtime",
    "engine.records.historian",
    "engine.records.event_rules",
    "engine.records.tools",
    "engine.records.quality",
    "engine.records.deviations",
    "engine.records.first_articles",
    "engine.records.inspection",
)


def load_models() -> None:
    """Import every module that defines tables, so that ``Base.metadata`` knows them all."""
    for name in TABLE_MODULES:
        importlib.import_module(name)


def sync_mode(url: str) -> str:
    """SQLite's sync mode for ``url``: its ``synchronous`` option (``extra``, ``full`` or
    ``normal``), else FULL. ValueError for any other value."""
    given = make_url(url).query.get(SYNC_OPTION, DEFAULT_SYNC)
    text = given if isinstance(given, str) else given[-1]
    if text.upper() not in SYNC_MODES:
        raise ValueError(
            f"{SYNC_OPTION}={text} is not a SQLite sync mode Ferrule runs with; use extra, full "
            "(the default) or normal."
        )
    return text.upper()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
    """PRAGMAs on every new connection; BEGIN (IMMEDIATE for writers) emitted by us, not sqlite3."""
    pragmas = (
        *SQLITE_PRAGMAS,
        f"PRAGMA synchronous={synchronous}",
        f"PRAGMA busy_timeout={busy_timeout_ms}",
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _conflict(exc: DBAPIError) -> Conflict | None:
    """The Conflict a database error stands for, if it is one that a retry can resolve."""
    state = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig).lower()
    if state == _PG_DUPLICATE or "unique constraint failed" in text:
        return Conflict(
            "Another command created the same record at the same moment; reload and try again.",
            code=DUPLICATE_RECORD,
        )
    if state in _PG_RETRYABLE:
        return Conflict(
            "Another command changed the same records at the same time; try the command again.",
            code=CONCURRENT_CHANGE,
        )
    if isinstance(exc, OperationalError) and ("database is locked" in text or "is busy" in text):
        return Conflict(
            "The database is busy with another change; try the command again.", code=BUSY
        )
    return None
