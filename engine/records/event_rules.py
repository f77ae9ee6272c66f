"""The firings of event rules (``event_rules`` of site.yaml): one row per episode that reached its
``for`` duration, written once (append-only, sealed under the audit chain). ``outcome`` is
``fired`` (the actions ran; each action's outcome is in ``actions``) or ``suppressed`` (the
rule's ``at_most`` rate was used up, nothing was done)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME


class EventRuleFiring(Base):
    """One episode of an event rule that fired (or was suppressed by its rate limit), with the
    tag readings that made it fire (JSON list) and each action with its outcome (JSON list)."""

    __tablename__ = "event_rule_firings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(NAME))
    outcome: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime]
    because: Mapped[str] = mapped_column(Text)
    readings: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (Index("ix_event_rule_firings_rule", "rule", "id"), sealed(APPEND_ONLY))
