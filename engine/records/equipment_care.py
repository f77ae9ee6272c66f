"""Tables of equipment care: calibrations and maintenance done on a machine, each signed.

Both are append-only records: a calibration or maintenance once recorded is never changed; a
correction is a new record. The newest record of each kind, with the interval the deployed
config declares, gives the machine's next due date (``equipment.calibration_due`` and
``maintenance_due``, see :mod:`engine.commands.care_dues`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, CURRENT_STATE, Base, sealed
from engine.records.tables import NAME

CALIBRATION_RESULTS = ("pass", "fail")
ORDER_STATUSES = ("open", "in_progress", "done", "cancelled")


class CalibrationRecord(Base):
    """A calibration of a machine: its result, who performed it (a technician or a lab), the
    certificate (a reference, and the SHA-256 of its file when attached), the values measured,
    and the next due date it set (None after a failure: the machine is out of calibration)."""

    __tablename__ = "equipment_calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(ForeignKey("equipment.name"))
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
        Index("ix_equipment_calibrations_equipment", "equipment", "performed_on"),
        sealed(APPEND_ONLY),
    )


class MaintenanceRecord(Base):
    """Preventive maintenance done on a machine: what was done, by whom, and the next due date
    it set."""

    __tablename__ = "equipment_maintenance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(ForeignKey("equipment.name"))
    performed_on: Mapped[dt.date] = mapped_column(Date)
    performed_by: Mapped[str] = mapped_column(String(NAME))
    work_done: Mapped[str] = mapped_column(Text)
    next_due: Mapped[dt.date] = mapped_column(Date)
    counter_at: Mapped[float | None] = mapped_column(Float)
    """The machine's usage counter tag at the maintenance, when its config declares one."""
    recorded_by: Mapped[str] = mapped_column(String(NAME))
    recorded_at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        Index("ix_equipment_maintenance_equipment", "equipment", "performed_on"),
        sealed(APPEND_ONLY),
    )


class MaintenanceOrder(Base):
    """A preventive maintenance order: opened when a machine's maintenance comes within its
    warning period or falls due, at most once per cycle (``cycle`` is the id of the maintenance
    record the due follows, 0 before the first), then open → in_progress → done (closed by the
    maintenance record ``maintenance_id``) or cancelled with a reason. Updated in place."""

    __tablename__ = "maintenance_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(NAME), unique=True)
    equipment: Mapped[str] = mapped_column(ForeignKey("equipment.name"))
    cycle: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    due: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime]
    opened_by: Mapped[str] = mapped_column(String(NAME))
    started_at: Mapped[dt.datetime | None]
    started_by: Mapped[str] = mapped_column(String(NAME), default="")
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str] = mapped_column(String(NAME), default="")
    maintenance_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_maintenance.id"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'done', 'cancelled')", name="status"),
        UniqueConstraint("equipment", "cycle", name="uq_maintenance_orders_cycle"),
        Index("ix_maintenance_orders_status", "status", "equipment"),
        sealed(CURRENT_STATE),
    )
