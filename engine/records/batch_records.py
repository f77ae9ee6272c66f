"""Tables of the record review: the compiled batch or device history record of a unit, lot or
work order is built from the production tables when it is read (:mod:`engine.queries.batch_record`);
what the review adds is kept here, every row written once.

An acknowledgement says that a reviewer read one exception of a record and why it is acceptable.
A decision releases or rejects the record under a quality e-signature (the ``signatures`` row
bound to it, ``record_type`` :data:`DECISION_RECORD`) and keeps the SHA-256 of the record's
canonical content as it was signed; the newest decision counts. An amendment, signed the same way
(:data:`AMENDMENT_RECORD`), accepts what changed in a released record and keeps the hash of its
content from then on.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME

RECORD_KINDS = ("item", "work_order")  # a unit's or lot's record, or a work order's
DECISIONS = ("released", "rejected")
DECISION_RECORD = "batch_record_decision"  # signatures.record_type of a release or rejection
AMENDMENT_RECORD = "batch_record_amendment"  # signatures.record_type of an amendment
_KIND = f"kind IN ({', '.join(repr(k) for k in RECORD_KINDS)})"


class RecordAcknowledgement(Base):
    """A reviewer's comment on one exception of a record (``exception_key`` names it)."""

    __tablename__ = "record_acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(NAME))
    exception_key: Mapped[str] = mapped_column(String(NAME))
    comment: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint(_KIND, name="kind"),
        UniqueConstraint("kind", "number", "exception_key", name="uq_record_acknowledgements_key"),
        sealed(APPEND_ONLY),
    )


class RecordDecision(Base):
    """A signed release or rejection of a record with the hash of the content signed."""

    __tablename__ = "record_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(NAME))
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint(_KIND, name="kind"),
        CheckConstraint("decision IN ('released', 'rejected')", name="decision"),
        Index("ix_record_decisions_record", "kind", "number"),
        sealed(APPEND_ONLY),
    )


class RecordAmendment(Base):
    """A signed amendment of a released record: what changed and why, and the new content hash."""

    __tablename__ = "record_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint(_KIND, name="kind"),
        Index("ix_record_amendments_record", "kind", "number"),
        sealed(APPEND_ONLY),
    )
