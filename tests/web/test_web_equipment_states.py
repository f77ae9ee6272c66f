"""State changes the adapter process derives land in the engine's history, for OEE: queued on
disk first, so that a busy or locked database delays them but never loses one."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import update

from adapters.states import StateChange
from dsl.model import EquipmentState, Plant
from engine.commands import equipment
from engine.infra.db import Database
from engine.records.tables import EquipmentRecord
from web.equipment_states import QueuedRecorder, database_recorder

WAIT_S = 60  # a bound on every wait, never a measure of speed
PRESS = "crimp-press-1"


@pytest.fixture
def recorder(
    db: Database, plant: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[QueuedRecorder]:
    monkeypatch.setenv("FERRULE_DATABASE_URL", db.url)
    monkeypatch.setenv("FERRULE_VAR", str(tmp_path))
    record = database_recorder(tmp_path / "tags.mmap")
    yield record
    record.close(WAIT_S)


@contextmanager
def locked(db: Database) -> Iterator[None]:
    """A write transaction held open on the press's record (SQLite: the whole database)."""
    with db.transaction() as session:
        session.execute(
            update(EquipmentRecord)
            .where(EquipmentRecord.name == PRESS)
            .values(updated_at=dt.datetime.now(dt.UTC))
        )
        yield


def _history(db: Database, since: dt.datetime) -> list[tuple[str, str, str]]:
    with db.session() as session:
        return [
            (c.state, c.source, c.actor)
            for c in equipment.state_history(session, PRESS, since=since)
        ]


def test_derived_state_changes_are_recorded_with_their_source(
    db: Database, recorder: QueuedRecorder
) -> None:
    start = dt.datetime.now(dt.UTC)
    recorder(StateChange(PRESS, None, EquipmentState.RUNNING, start))
    recorder(StateChange(PRESS, EquipmentState.RUNNING, EquipmentState.DOWN,
                         start + dt.timedelta(seconds=5)))  # fmt: skip
    recorder(StateChange("no-such-press", None, EquipmentState.IDLE, start))  # logged, dropped
    recorder(StateChange(PRESS, EquipmentState.DOWN, EquipmentState.IDLE,
                         start + dt.timedelta(seconds=9)))  # fmt: skip
    assert recorder.drained(WAIT_S)
    assert _history(db, start) == [
        ("running", "rules", "adapters"),
        ("down", "rules", "adapters"),
        ("idle", "rules", "adapters"),
    ]
    with db.session() as session:
        assert equipment.status(session, PRESS).state == "idle"


def test_changes_made_while_the_database_is_locked_are_all_recorded_in_order(
    db: Database, recorder: QueuedRecorder
) -> None:
    start = dt.datetime.now(dt.UTC)
    states = [EquipmentState.RUNNING, EquipmentState.DOWN, EquipmentState.RUNNING,
              EquipmentState.SETUP, EquipmentState.IDLE, EquipmentState.RUNNING]  # fmt: skip
    changes = [
        StateChange(PRESS, states[i - 1] if i else None, state, start + dt.timedelta(seconds=i))
        for i, state in enumerate(states)
    ]
    with locked(db):
        caller = threading.Thread(target=lambda: [recorder(change) for change in changes])
        caller.start()
        caller.join(WAIT_S)
        assert not caller.is_alive()  # the adapter's loop went on while the database was locked
        assert _history(db, start) == []
    assert recorder.drained(WAIT_S)
    assert _history(db, start) == [(s.value, "rules", "adapters") for s in states]
