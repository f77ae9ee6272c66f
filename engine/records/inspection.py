"""Tables of AQL lot inspection (ANSI/ASQ Z1.4, docs/sampling.md): each lot inspected with the
plan used, each sample's result, the lot's decision, and the signed reinstatements of a stream
whose inspection was discontinued. All append-only: the switching state of a stream of lots
(per part and supplier at receiving, per product and operation on the floor) is not stored but
rebuilt by replaying its decisions in order (:mod:`engine.queries.inspection`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME


class LotInspection(Base):
    """A lot put to AQL inspection: a received lot (``part``, ``supplier``, ``lot``) or a work
    order's lot at an operation (``part`` is the product, ``operation`` and ``work_order`` are
    set), with the plan of its switching state: code letter, the letter the arrows led to,
    ``sample_size`` n, ``ac`` and ``re``. ``skipped``: passed uninspected under skip-lot.
    ``steady`` and ``reduced_allowed`` are what the switching rules are given for it, so that
    a replay rebuilds the same state."""

    __tablename__ = "lot_inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[str] = mapped_column(String(NAME))
    supplier: Mapped[str] = mapped_column(String(NAME), default="")
    operation: Mapped[str] = mapped_column(String(NAME), default="")
    work_order: Mapped[str] = mapped_column(String(NAME), default="")
    lot: Mapped[str] = mapped_column(String(NAME))
    lot_size: Mapped[int] = mapped_column(Integer)
    aql: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(12))
    code_letter: Mapped[str] = mapped_column(String(1))
    letter: Mapped[str] = mapped_column(String(1))
    sample_size: Mapped[int] = mapped_column(Integer)
    ac: Mapped[int] = mapped_column(Integer)
    re: Mapped[int] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(Boolean)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    steady: Mapped[bool] = mapped_column(Boolean, default=True)
    """Production ran at a steady rate (reported with the lot, for the switching rules)."""
    reduced_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    """The plant approved reduced inspection when the lot was inspected."""
    started_by: Mapped[str] = mapped_column(String(NAME))
    started_at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint("severity IN ('normal', 'tightened', 'reduced')", name="severity"),
        UniqueConstraint("part", "operation", "lot", name="uq_lot_inspections_lot"),
        Index("ix_lot_inspections_stream", "part", "supplier", "operation", "id"),
        sealed(APPEND_ONLY),
    )


class InspectionSample(Base):
    """One sample of a lot inspection, numbered from 1: conforming or not, with an optional
    defect code."""

    __tablename__ = "inspection_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("lot_inspections.id"))
    number: Mapped[int] = mapped_column(Integer)
    conforming: Mapped[bool] = mapped_column(Boolean)
    defect_code: Mapped[str] = mapped_column(String(NAME), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(NAME))
    recorded_at: Mapped[dt.datetime]

    __table_args__ = (
        UniqueConstraint("inspection_id", "number", name="uq_inspection_samples_number"),
        sealed(APPEND_ONLY),
    )


class InspectionDecision(Base):
    """A lot's decision: accepted or rejected after ``inspected`` samples with ``defects``
    nonconforming; the stream's columns make replaying its decisions one index range."""

    __tablename__ = "inspection_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("lot_inspections.id"), unique=True)
    part: Mapped[str] = mapped_column(String(NAME))
    supplier: Mapped[str] = mapped_column(String(NAME), default="")
    operation: Mapped[str] = mapped_column(String(NAME), default="")
    accepted: Mapped[bool] = mapped_column(Boolean)
    inspected: Mapped[int] = mapped_column(Integer)
    defects: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str] = mapped_column(String(NAME))
    decided_at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ix_inspection_decisions_stream", "part", "supplier", "operation", "id"),
        sealed(APPEND_ONLY),
    )


class InspectionReinstatement(Base):
    """Quality resumes a discontinued stream (on tightened inspection) after the supplier's
    corrective action, signed. ``after_decision`` is the stream's last decision then, so a
    replay applies it in its place."""

    __tablename__ = "inspection_reinstatements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[str] = mapped_column(String(NAME))
    supplier: Mapped[str] = mapped_column(String(NAME), default="")
    operation: Mapped[str] = mapped_column(String(NAME), default="")
    after_decision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(String(NAME))
    meaning: Mapped[str] = mapped_column(String(NAME))
    signed_at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ix_inspection_reinstatements_stream", "part", "supplier", "operation", "id"),
        sealed(APPEND_ONLY),
    )
