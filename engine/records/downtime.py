"""Tables for downtime and OEE: reasons coded on stops, equipment time and completions per
quarter-hour.

A coding gives a stretch of a machine's time a reason from its work centre's reason tree. Codings
are append-only: a supervisor who splits or re-codes a stop adds codings over it, and for every
second the newest coding covering it holds. State buckets hold how many seconds a machine spent in
each state per quarter-hour; they are derived from the state history as changes are recorded (not
a GMP record: :func:`engine.commands.downtime.rebuild_buckets` rebuilds them from it) so that OEE
over a month reads a few thousand rows instead of millions of changes; production buckets sum the
completed runs the same way, up to a watermark a few minutes behind now.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed, utcnow
from engine.records.tables import NAME


class DowntimeCoding(Base):
    """``reason`` (``planned/category/reason``) for ``equipment`` from ``start`` to ``end``."""

    __tablename__ = "downtime_codings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(ForeignKey("equipment.name"))
    start: Mapped[dt.datetime] = mapped_column()
    end: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(NAME))
    planned: Mapped[bool] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    coded_by: Mapped[str] = mapped_column(String(NAME))
    coded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_downtime_codings_equipment_start", "equipment", "start"),
        CheckConstraint('"end" > start', name="period"),
        sealed(APPEND_ONLY),
    )


class EquipmentStateBucket(Base):
    """Seconds ``equipment`` spent in ``state`` in the quarter-hour from ``start`` (derived)."""

    __tablename__ = "equipment_state_buckets"

    equipment: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float)


class ProductionBucket(Base):
    """Units completed on ``equipment`` in the quarter-hour from ``start``, by routing, operation,
    product and route; ``first_quantity`` counts those at their first run of the operation
    (derived from ``operation_runs`` up to the machine's :class:`ProductionWatermark`)."""

    __tablename__ = "production_buckets"

    equipment: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    routing: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    operation: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    product: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    route: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    first_quantity: Mapped[float] = mapped_column(Float)


class ProductionWatermark(Base):
    """Completions on ``equipment`` before ``until`` are summed in production buckets."""

    __tablename__ = "production_watermarks"

    equipment: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column()
