"""Equipment state changes from the adapter process, stored as the engine's history (for OEE).

The adapter's event loop must never wait on the database, and no change may be lost when the
database is busy or down. So each change is first appended to a small SQLite queue file in the var
folder (synchronous=FULL: on disk before the call returns, in a millisecond or so), and a worker
thread drains the queue into the database in order, deleting an entry only after its change is
committed, with back-off while the database cannot take it. A change the engine refuses (unknown
equipment, out of time order) is logged and dropped: retrying cannot make it right. A change
committed but not yet deleted when the process stops is replayed at the next start, where the
engine finds the machine already in that state and records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.states import StateChange
from engine.errors import DomainError
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import RETRYABLE_CODES, Database
from web.settings import Settings

log = logging.getLogger("ferrule.equipment")

QUEUE_FILE = "equipment-states.db"
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.05, 5.0
IDLE_POLL_S = 1.0  # how often an idle worker looks at the queue without being woken


@dataclass(frozen=True, slots=True)
class Queued:
    """One change waiting in the queue: ``id`` orders the queue."""

    id: int
    equipment: str
    state: str
    at: dt.datetime
    cause: str
    detail: str


class StateQueue:
    """The append-only queue file; every thread gets its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connection()
        connection.execute(
            "CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "equipment TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL)"
        )
        columns = {row[1] for row in connection.execute("PRAGMA table_info(changes)")}
        for column in ("cause", "detail"):  # queue files from before causes were recorded
            if column not in columns:
                connection.execute(
                    f"ALTER TABLE changes ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
                )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            for pragma in ("journal_mode=WAL", "synchronous=FULL"):
                connection.execute(f"PRAGMA {pragma}")
            self._local.connection = connection
        return connection

    def append(self, change: StateChange) -> None:
        """Add ``change`` at the end (durable when this returns)."""
        self._connection().execute(
            "INSERT INTO changes (equipment, state, at, cause, detail) VALUES (?, ?, ?, ?, ?)",
            (
                change.equipment,
                change.new.value,
                change.at.isoformat(),
                change.cause.value,
                change.detail,
            ),
        )

    def oldest(self) -> Queued | None:
        """The change that goes next, or None when the queue is empty."""
        row = (
            self._connection()
            .execute(
                "SELECT id, equipment, state, at, cause, detail FROM changes ORDER BY id LIMIT 1"
            )
            .fetchone()
        )
        if row is None:
            return None
        return Queued(row[0], row[1], row[2], dt.datetime.fromisoformat(row[3]), row[4], row[5])

    def remove(self, entry: Queued) -> None:
        self._connection().execute("DELETE FROM changes WHERE id = ?", (entry.id,))

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class QueuedRecorder:
    """The adapter's state-change callback: append to the queue, wake the worker."""

    def __init__(self, queue: StateQueue, store: Callable[[Queued], None]) -> None:
        self.queue = queue
        self._store = store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._empty = threading.Condition()
        self._is_empty = False
        self._worker = threading.Thread(target=self._drain, name="equipment-states", daemon=True)
        self._worker.start()

    def __call__(self, change: StateChange) -> None:
        try:
            with self._empty:
                self.queue.append(change)
                self._is_empty = False
        except sqlite3.Error:  # the adapter goes on publishing tag values whatever happens here
            log.exception("state change of %s could not be queued", change.equipment)
        self._wake.set()

    def drained(self, timeout: float) -> bool:
        """Wait until every queued change is stored (or refused); False if ``timeout`` passed."""
        self._wake.set()
        with self._empty:
            return self._empty.wait_for(lambda: self._is_empty, timeout)

    def close(self, timeout: float) -> None:
        """Stop the worker (what is still queued stays on disk for the next start)."""
        self._stop.set()
        self._wake.set()
        self._worker.join(timeout)

    def _drain(self) -> None:
        backoff = FIRST_BACKOFF_S
        try:
            while not self._stop.is_set():
                try:
                    backoff = self._step(backoff)
                except sqlite3.Error:
                    log.exception("the state change queue %s failed; retrying", self.queue.path)
                    self._stop.wait(MAX_BACKOFF_S)
        finally:
            self.queue.close()

    def _step(self, backoff: float) -> float:
        """Store the oldest change, or wait for one; the back-off after the next failure."""
        entry = self.queue.oldest()
        if entry is None:
            self._idle()
            return FIRST_BACKOFF_S
        if self._stored(entry):
            self.queue.remove(entry)
            return FIRST_BACKOFF_S
        self._stop.wait(backoff)
        return min(backoff * 2, MAX_BACKOFF_S)

    def _idle(self) -> None:
        with self._empty:  # appends happen under this lock: empty now means empty
            if self.queue.oldest() is not None:
                return
            self._is_empty = True
            self._empty.notify_all()
        self._wake.wait(IDLE_POLL_S)
        self._wake.clear()

    def _stored(self, entry: Queued) -> bool:
        """True when ``entry`` is done with: stored, or refused for good."""
        try:
            self._store(entry)
        except DomainError as refused:
            if refused.code in RETRYABLE_CODES:
                log.info("state change of %s waits: %s", entry.equipment, refused.message)
                return False
            log.warning("state change of %s not recorded: %s", entry.equipment, refused)
        except Exception as error:  # the database is down or unreachable: retry
            log.warning("state change of %s not stored yet (%s); retrying", entry.equipment, error)
            return False
        return True


def database_recorder(cache_path: Path) -> QueuedRecorder:
    """The callback that records each derived state change in the configured database, through
    the queue file in the var folder (``cache_path`` is the adapter's tag cache, unused here)."""
    settings = Settings.from_env()
    # recording a state change reads no tag values
    ferrule = Ferrule(Database.from_url(settings.database_url), StaticTagSource())

    def store(entry: Queued) -> None:
        ferrule.record_equipment_state(
            actor="adapters",
            name=entry.equipment,
            state=entry.state,
            at=entry.at,
            source="rules",
            cause=entry.cause or None,
            reason=entry.detail,
        )

    return QueuedRecorder(StateQueue(settings.var_dir / QUEUE_FILE), store)
