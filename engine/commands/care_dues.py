"""The due dates that recorded calibrations and maintenance give, with the config's intervals.

Once a machine has a calibration (or maintenance) record, the newest one drives its due date:
the day it was performed plus the interval the deployed config declares (``calibration: {every:
180 d}``), or the next due date stored with the record when the config declares none. A failed
calibration makes the machine overdue from the day before it (fail safe: nothing may start on
it until a passing calibration is recorded). Without any record the config's date still holds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import CareInterval, Equipment
from engine.records.equipment_care import CalibrationRecord, MaintenanceRecord

DAY = dt.timedelta(days=1)


def next_due(interval: CareInterval | None, performed_on: dt.date) -> dt.date | None:
    """The day after ``performed_on`` that the interval makes the next one due, if declared."""
    return None if interval is None else performed_on + dt.timedelta(days=interval.every_days)


def latest_calibration(session: Session, name: str) -> CalibrationRecord | None:
    """The newest calibration of a machine (by the day performed, then as recorded)."""
    return session.scalar(
        select(CalibrationRecord)
        .where(CalibrationRecord.equipment == name)
        .order_by(CalibrationRecord.performed_on.desc(), CalibrationRecord.id.desc())
        .limit(1)
    )


def latest_maintenance(session: Session, name: str) -> MaintenanceRecord | None:
    """The newest maintenance of a machine (by the day performed, then as recorded)."""
    return session.scalar(
        select(MaintenanceRecord)
        .where(MaintenanceRecord.equipment == name)
        .order_by(MaintenanceRecord.performed_on.desc(), MaintenanceRecord.id.desc())
        .limit(1)
    )


def calibration_due_after(record: CalibrationRecord, config: Equipment) -> dt.date | None:
    """The calibration due date a calibration record gives under ``config``."""
    if record.result != "pass":
        return record.performed_on - DAY
    return next_due(config.calibration, record.performed_on) or record.next_due


def maintenance_due_after(record: MaintenanceRecord, config: Equipment) -> dt.date:
    """The maintenance due date a maintenance record gives under ``config``."""
    return next_due(config.maintenance, record.performed_on) or record.next_due


def recorded_dues(session: Session, config: Equipment) -> dict[str, dt.date | None]:
    """The due dates the machine's newest records give, by column (``calibration_due``,
    ``maintenance_due``); a column without any record is left out."""
    dues: dict[str, dt.date | None] = {}
    calibration = latest_calibration(session, config.name)
    if calibration is not None:
        dues["calibration_due"] = calibration_due_after(calibration, config)
    maintenance = latest_maintenance(session, config.name)
    if maintenance is not None:
        dues["maintenance_due"] = maintenance_due_after(maintenance, config)
    return dues
