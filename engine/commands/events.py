"""Delivering the outbox: batches per sink, cursors, dead letters and their replay.

A sink (``mqtt``, ``webhook``) delivers events in ``seq`` order and moves its cursor past an
event only once the other side acknowledged it, so a publisher killed at any moment re-sends
from its cursor: at least once, in order, with the same event ids. A webhook event that still
fails after its retries becomes a dead letter and delivery moves on; an admin's replay (audited)
asks the publisher to send it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.base import utcnow
from engine.records.events import DeadLetter, EventCursor, OutboxEvent

DEAD, REPLAY, DELIVERED = "dead", "replay", "delivered"
# How long after its acknowledgement an event counts as settled at the other side: longer than a
# broker takes to save what it accepted (Mosquitto: autosave_interval; docs/events.md).
SETTLE = dt.timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Event(Jsonable):
    """One event to deliver: its place in commit order, stable id, record and JSON payload."""

    seq: int
    event_id: str
    at: dt.datetime
    entity: str
    entity_id: str
    action: str
    payload: str


@dataclass(frozen=True, slots=True)
class DeadLetterEntry(Jsonable):
    """A dead letter with the event it holds (for the admin page and the API)."""

    id: int
    sink: str
    seq: int
    event_id: str
    entity: str
    entity_id: str
    action: str
    attempts: int
    error: str
    status: str
    failed_at: dt.datetime
    replayed_by: str


_EVENT_COLUMNS = (
    OutboxEvent.seq,
    OutboxEvent.event_id,
    OutboxEvent.at,
    OutboxEvent.entity,
    OutboxEvent.entity_id,
    OutboxEvent.action,
    OutboxEvent.payload,
)


def cursor(session: Session, sink: str) -> int:
    """The seq up to which ``sink`` has delivered (0: nothing yet)."""
    found = session.scalar(select(EventCursor.seq).where(EventCursor.sink == sink))
    return int(found or 0)


def pending(session: Session, sink: str, limit: int) -> list[Event]:
    """The next ``limit`` events after ``sink``'s cursor, in commit order."""
    rows = session.execute(
        select(*_EVENT_COLUMNS)
        .where(OutboxEvent.seq > cursor(session, sink))
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    return [Event(*row) for row in rows]


def advance(session: Session, sink: str, seq: int, *, settle: dt.timedelta = SETTLE) -> None:
    """Move ``sink``'s cursor forward to ``seq`` (never back); what was acknowledged more than
    ``settle`` ago becomes its settled point (see :func:`rewind`)."""
    now = utcnow()
    row = session.get(EventCursor, sink, with_for_update=True)
    if row is None:
        checkpoint = {"checkpoint_seq": seq, "checkpoint_at": now}
        session.add(EventCursor(sink=sink, seq=seq, updated_at=now, settled_seq=0, **checkpoint))
        return
    if seq <= row.seq:
        return
    if now - row.checkpoint_at >= settle:  # the checkpoint was acknowledged long enough ago
        row.settled_seq, row.checkpoint_seq, row.checkpoint_at = row.checkpoint_seq, seq, now
    row.seq, row.updated_at = seq, now


def rewind(session: Session, sink: str) -> int:
    """Move ``sink``'s cursor back to its settled point, so that what it delivered in the last
    ``settle`` or so is sent again (a broker that was killed may have lost it); the new cursor."""
    row = session.get(EventCursor, sink, with_for_update=True)
    if row is None:
        return 0
    now = utcnow()
    row.seq = row.checkpoint_seq = row.settled_seq
    row.updated_at = row.checkpoint_at = now
    return row.seq


def bury(session: Session, sink: str, event: Event, *, attempts: int, error: str) -> None:
    """Make ``event`` a dead letter of ``sink`` (delivery then moves on)."""
    session.add(
        DeadLetter(
            sink=sink,
            seq=event.seq,
            event_id=event.event_id,
            attempts=attempts,
            error=error,
            status=DEAD,
            failed_at=utcnow(),
        )
    )


def dead_letters(session: Session, *, limit: int = 200) -> list[DeadLetterEntry]:
    """The newest dead letters of every sink, with what their events are about."""
    rows = session.execute(
        select(
            DeadLetter.id,
            DeadLetter.sink,
            DeadLetter.seq,
            DeadLetter.event_id,
            OutboxEvent.entity,
            OutboxEvent.entity_id,
            OutboxEvent.action,
            DeadLetter.attempts,
            DeadLetter.error,
            DeadLetter.status,
            DeadLetter.failed_at,
            DeadLetter.replayed_by,
        )
        .join(OutboxEvent, OutboxEvent.seq == DeadLetter.seq)
        .order_by(DeadLetter.id.desc())
        .limit(limit)
    )
    return [DeadLetterEntry(**row._mapping) for row in rows]


def request_replay(session: Session, dead_letter_id: int, *, actor: str) -> None:
    """Ask the publisher to send a dead letter's event again (recorded in the audit trail)."""
    letter = session.get(DeadLetter, dead_letter_id)
    if letter is None:
        raise NotFound(f"There is no dead letter #{dead_letter_id}; reload the list.")
    if letter.status != DEAD:
        raise Conflict(
            f"Dead letter #{dead_letter_id} is already {_STATUS_TEXT[letter.status]}; "
            "reload the list.",
            code="replay_not_dead",
        )
    letter.status, letter.replayed_by = REPLAY, actor
    audit.record(
        session,
        actor=actor,
        action="replay",
        entity="event_dead_letter",
        entity_id=dead_letter_id,
        old={"status": DEAD},
        new={"status": REPLAY, "sink": letter.sink, "event_id": letter.event_id},
        reason="replay requested",
    )


_STATUS_TEXT = {REPLAY: "queued for replay", DELIVERED: "delivered"}


def replays(session: Session, sink: str) -> list[tuple[int, Event]]:
    """The dead letters of ``sink`` an admin asked to replay, oldest first, with their events."""
    rows = session.execute(
        select(DeadLetter.id, *_EVENT_COLUMNS)
        .join(OutboxEvent, OutboxEvent.seq == DeadLetter.seq)
        .where(DeadLetter.sink == sink, DeadLetter.status == REPLAY)
        .order_by(DeadLetter.id)
    )
    return [(row[0], Event(*row[1:])) for row in rows]


def settle_replay(session: Session, dead_letter_id: int, *, error: str, attempts: int) -> None:
    """Record how a replay went: delivered (``error`` empty), else dead again."""
    letter = session.get(DeadLetter, dead_letter_id)
    if letter is None:
        return
    letter.attempts += attempts
    if error:
        letter.status, letter.error, letter.failed_at = DEAD, error, utcnow()
    else:
        letter.status = DELIVERED


def prune(session: Session, sinks: Iterable[str], *, before: dt.datetime) -> int:
    """Delete events older than ``before`` that every one of ``sinks`` has delivered (and
    settled) and no open dead letter holds; returns how many."""
    names = list(sinks)
    if not names:
        return 0
    settled = select(func.min(EventCursor.settled_seq))  # a rewind never goes back past it
    delivered = session.scalar(settled.where(EventCursor.sink.in_(names)))
    known = session.scalar(select(func.count(EventCursor.sink)).where(EventCursor.sink.in_(names)))
    if delivered is None or known != len(names):
        return 0
    held = select(DeadLetter.seq).where(DeadLetter.status != DELIVERED)
    result = session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.seq <= delivered, OutboxEvent.at < before, OutboxEvent.seq.not_in(held)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
