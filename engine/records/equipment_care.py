"""Tables of equipment care: calibrations and maintenance done on a machine, each signed.

Both are append-only records: a calibration or maintenance once recorded is never changed; a
correction is a new record. The newest record of each kind, with the interval the deployed
config declares, gives the machine's next due date (``equipment.calibration_due`` and
``maintenance_due``, see :mod:`engine.commands.care_dues`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME

CALIBRATION_RESULTS = ("pass", "fail")


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
    recorded_by: Mapped[str] = mapped_column(String(NAME))
    recorded_at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        Index("ix_equipment_maintenance_equipment", "equipment", "performed_on"),
        sealed(APPEND_ONLY),
    )
