"""The events facade: what the publisher (``ferrule publish``) and the admin pages ask of the
outbox (engine.commands.events). Each method is its own transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from dsl.model import Plant
from engine.commands import events
from engine.commands.events import DeadLetterEntry, Event
from engine.commands.versions import active_plant
from engine.errors import NotFound
from engine.infra.db import Database
from engine.infra.outbox import EVENT_SCHEMA


class Events:
    """The event outbox of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, sink: str, limit: int) -> list[Event]:
        """The next events ``sink`` has to deliver, in commit order."""
        with self.db.session() as session:
            return events.pending(session, sink, limit)

    def delivered(self, sink: str, seq: int, *, settle: dt.timedelta = events.SETTLE) -> None:
        """``sink`` delivered every event up to ``seq``."""
        with self.db.transaction() as session:
            events.advance(session, sink, seq, settle=settle)

    def rewind(self, sink: str) -> int:
        """Send again what ``sink`` delivered since its settled point; the new cursor."""
        with self.db.transaction() as session:
            return events.rewind(session, sink)

    def cursor(self, sink: str) -> int:
        """The seq up to which ``sink`` has delivered."""
        with self.db.session() as session:
            return events.cursor(session, sink)

    def give_up(self, sink: str, event: Event, *, attempts: int, error: str) -> None:
        """``sink`` could not deliver ``event``: a dead letter, and the cursor moves past it."""
        with self.db.transaction() as session:
            events.bury(session, sink, event, attempts=attempts, error=error)
            events.advance(session, sink, event.seq)

    def dead_letters(self, *, limit: int = 200) -> list[DeadLetterEntry]:
        """The newest dead letters of every sink."""
        with self.db.session() as session:
            return events.dead_letters(session, limit=limit)

    def replay(self, dead_letter_id: int, *, actor: str) -> None:
        """Queue a dead letter's event to be sent again (audited)."""
        with self.db.transaction() as session:
            events.request_replay(session, dead_letter_id, actor=actor)

    def replays(self, sink: str) -> list[tuple[int, Event]]:
        """The replays queued for ``sink``."""
        with self.db.session() as session:
            return events.replays(session, sink)

    def replayed(self, dead_letter_id: int, *, error: str, attempts: int) -> None:
        """How a replay went (``error`` empty: delivered)."""
        with self.db.transaction() as session:
            events.settle_replay(session, dead_letter_id, error=error, attempts=attempts)

    def prune(self, sinks: Iterable[str], *, before: dt.datetime) -> int:
        """Delete delivered events older than ``before`` (the retention setting)."""
        with self.db.transaction() as session:
            return events.prune(session, sinks, before=before)

    def plant(self) -> Plant | None:
        """The active plant (names the topic tree's site, work centres and equipment)."""
        try:
            return active_plant(self.db)[1]
        except NotFound:
            return None

    @staticmethod
    def schema() -> dict[str, Any]:
        """The JSON Schema every event payload follows (docs/events.schema.json)."""
        return EVENT_SCHEMA
