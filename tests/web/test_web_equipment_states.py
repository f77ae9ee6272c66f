"""State changes the adapter process derives land in the engine's history, for OEE."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adapters.states import StateChange
from dsl.model import EquipmentState, Plant
from engine.commands import equipment
from engine.infra.db import Database
from web.equipment_states import database_recorder


def test_derived_state_changes_are_recorded_with_their_source(
    db: Database, plant: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRULE_DATABASE_URL", db.url)
    monkeypatch.setenv("FERRULE_VAR", str(tmp_path))
    record = database_recorder(tmp_path / "tags.mmap")
    start = dt.datetime.now(dt.UTC)
    record(StateChange("crimp-press-1", None, EquipmentState.RUNNING, start))
    record(StateChange("crimp-press-1", EquipmentState.RUNNING, EquipmentState.DOWN,
                       start + dt.timedelta(seconds=5)))  # fmt: skip
    record(StateChange("no-such-press", None, EquipmentState.IDLE, start))  # logged, not raised

    with db.session() as session:
        history = equipment.state_history(session, "crimp-press-1", since=start)
        assert [(c.state, c.source, c.actor) for c in history] == [
            ("running", "rules", "adapters"),
            ("down", "rules", "adapters"),
        ]
        assert equipment.status(session, "crimp-press-1").state == "down"
