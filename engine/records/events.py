"""The event outbox: what the publisher (``ferrule publish``) delivers to MQTT and webhooks.

These tables are a delivery queue, not GMP records, so they are not sealed: the audit chain is
the record of every change, and an event row is written beside its audit row in the same
transaction (engine.infra.outbox). ``seq`` is the audit row's sequence number, which runs in
commit order (appends hold the chain's lock until commit), so a publisher reading ``seq > cursor``
never skips a transaction that commits late. Delivered events may be deleted after a retention
period (``ferrule publish --keep-days``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import Base

NAME = 200


class OutboxEvent(Base):
    """One event: a record change others care about, as its JSON payload."""

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[dt.datetime] = mapped_column()
    entity: Mapped[str] = mapped_column(String(NAME))
    entity_id: Mapped[str] = mapped_column(String(NAME))
    action: Mapped[str] = mapped_column(String(NAME))
    payload: Mapped[str] = mapped_column(Text)


class EventCursor(Base):
    """How far one sink (``mqtt``, ``webhook``) has delivered: every event up to ``seq``.

    ``settled_seq`` was acknowledged long enough ago (engine.commands.events.SETTLE) that a
    broker has saved or forwarded it; after a broker restart delivery starts again from there.
    ``checkpoint_seq`` (acknowledged at ``checkpoint_at``) becomes the next settled point."""

    __tablename__ = "event_cursors"

    sink: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column()
    settled_seq: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_seq: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_at: Mapped[dt.datetime] = mapped_column()


class DeadLetter(Base):
    """An event a sink gave up on after its retries; an admin may replay it."""

    __tablename__ = "event_dead_letters"
    __table_args__ = (Index("ix_event_dead_letters_status", "sink", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sink: Mapped[str] = mapped_column(String(NAME))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # dead, replay (requested), delivered
    failed_at: Mapped[dt.datetime] = mapped_column()
    replayed_by: Mapped[str] = mapped_column(String(NAME), default="")
