"""Equipment state changes from the adapter process, stored as the engine's history (for OEE)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from adapters.states import StateChange
from engine.errors import DomainError
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from web.settings import Settings

log = logging.getLogger("ferrule.equipment")


def database_recorder(cache_path: Path) -> Callable[[StateChange], None]:
    """A callback that records each derived state change in the configured database.

    A change the engine refuses (unknown equipment, out of order) is logged, not raised: the
    adapter process must keep publishing tag values whatever the database says.
    """
    # recording a state change reads no tag values
    ferrule = Ferrule(Database.from_url(Settings.from_env().database_url), StaticTagSource())

    def record(change: StateChange) -> None:
        try:
            ferrule.record_equipment_state(
                actor="adapters",
                name=change.equipment,
                state=change.new.value,
                at=change.at,
                source="rules",
            )
        except DomainError as refused:
            log.warning("state change of %s not recorded: %s", change.equipment, refused)

    return record
