"""Tables of tools and fixtures: which tool was scanned at a start, the cycles each completion
used, calibrations and status changes of each physical tool.

All four are append-only records. A tool's cycles are the sum of its ``tool_uses`` (one row per
completed operation run), its calibration due date follows from its newest calibration, and its
status (active, held, retired) is the newest status change (active without any).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME

TOOL_STATUSES = ("active", "held", "retired")


class ToolScan(Base):
    """The tool scanned for an allowed start: the start attempt, the tool and its type."""

    __tablename__ = "tool_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_attempt_id: Mapped[int] = mapped_column(ForeignKey("start_attempts.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    operation: Mapped[str] = mapped_column(String(NAME))
    tool: Mapped[str] = mapped_column(String(NAME))
    tool_type: Mapped[str] = mapped_column(String(NAME))
    scanned_by: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (sealed(APPEND_ONLY),)


class ToolUse(Base):
    """The cycles one completed operation run used of a tool."""

    __tablename__ = "tool_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool: Mapped[str] = mapped_column(String(NAME))
    tool_type: Mapped[str] = mapped_column(String(NAME))
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    operation: Mapped[str] = mapped_column(String(NAME))
    cycles: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        # a tool's life used, and "which units were made with tool A-17", read this index only
        Index("ix_tool_uses_tool", "tool", "item_id", "cycles"),
        Index("ix_tool_uses_item", "item_id"),
        sealed(APPEND_ONLY),
    )


class ToolCalibration(Base):
    """A calibration of one physical tool, recorded like an equipment calibration: result, who
    performed it, the certificate, the values measured, the next due date it set (None after a
    failure)."""

    __tablename__ = "tool_calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool: Mapped[str] = mapped_column(String(NAME))
    result: Mapped[str] = mapped_column(String(10))
    performed_on: Mapped[dt.date] = mapped_column(Date)
    performed_by: Mapped[str] = mapped_column(String(NAME))
    certificate: Mapped[str] = mapped_column(String(NAME), default="")
    certificate_sha256: Mapped[str] = mapped_column(String(64), default="")
    measured: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(NAME))
    recorded_at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        CheckConstraint("result IN ('pass', 'fail')", name="result"),
        Index("ix_tool_calibrations_tool", "tool", "performed_on"),
        sealed(APPEND_ONLY),
    )


class ToolStatusChange(Base):
    """A tool put on hold, released (active again) or retired, signed, with the reason."""

    __tablename__ = "tool_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool: Mapped[str] = mapped_column(String(NAME))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'held', 'retired')", name="status"),
        Index("ix_tool_status_changes_tool", "tool", "id"),
        sealed(APPEND_ONLY),
    )
