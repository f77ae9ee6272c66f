"""The tag historian's tables: recorded tag values and their downsampled buckets.

This is process data, not a GMP record: nothing here is sealed under the audit chain, and old
rows are dropped by the site's retention policy (docs/historian.md). The tables are compact:
integer tag ids, timestamps as integer milliseconds since the epoch (UTC), one small integer for
the quality. On SQLite the point table is a ``WITHOUT ROWID`` table clustered on (tag, time); on
PostgreSQL it is partitioned by range of time, one partition per UTC day, which the historian
creates ahead and the retention drops whole.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import Base

KEY = 200

GOOD, BAD, STALE = 0, 1, 2
"""Stored quality codes."""
QUALITY_CODES = {"good": GOOD, "bad": BAD, "stale": STALE}
QUALITY_NAMES = {code: name for name, code in QUALITY_CODES.items()}

POINTS_TABLE = "history_points"
PARTITION_PREFIX = f"{POINTS_TABLE}_d"
"""A day partition of the points table is named ``history_points_dYYYYMMDD`` (PostgreSQL)."""


class HistoryTag(Base):
    """A recorded tag's integer id, by its ``device.tag`` key, with the unit its values are in."""

    __tablename__ = "history_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), unique=True)
    unit: Mapped[str] = mapped_column(String(40), default="")


class HistoryPoint(Base):
    """One stored value: a value that moved out of the deadband, a quality change, or a
    heartbeat. ``value`` is None when the quality is not good; ``reason`` says why then."""

    __tablename__ = POINTS_TABLE
    __table_args__ = {  # noqa: RUF012
        "postgresql_partition_by": "RANGE (at_ms)",
        "sqlite_with_rowid": False,
    }

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(Text)


class HistoryBucket(Base):
    """The downsampled values of one tag in one bucket of ``width_ms`` starting at ``at_ms``:
    min, max, mean and last of the good values stored in it, and how many there were."""

    __tablename__ = "history_buckets"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width_ms: Mapped[int] = mapped_column(Integer)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
