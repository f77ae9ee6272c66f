"""Planned deviations: a signed, time-boxed permission to accept a gate outside its limit for
named work orders. Both tables are append-only: a deviation withdrawn early keeps its row, and a
withdrawal row says when and why it ended."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME


class Deviation(Base):
    """Deviation DEV-<id>: gate ``gate`` of ``operation`` of ``product`` accepts ``subject``
    (a collected field or a tag the gate reads) between ``low`` and ``high`` (in ``unit``) for
    the ``work_orders`` named, from ``valid_from`` until ``valid_until``."""

    __tablename__ = "deviations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(NAME))
    operation: Mapped[str] = mapped_column(String(NAME))
    gate: Mapped[str] = mapped_column(String(NAME))
    subject: Mapped[str] = mapped_column(String(NAME))
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    work_orders: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[dt.datetime] = mapped_column()
    valid_until: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(NAME))
    created_at: Mapped[dt.datetime] = mapped_column()
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        Index("ix_deviations_product_operation", "product", "operation"),
        sealed(APPEND_ONLY),
    )


class DeviationWithdrawal(Base):
    """A deviation ended before its time: by whom, when and why."""

    __tablename__ = "deviation_withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deviation_id: Mapped[int] = mapped_column(ForeignKey("deviations.id"), unique=True)
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (sealed(APPEND_ONLY),)
