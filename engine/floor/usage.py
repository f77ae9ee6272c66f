"""Usage of a machine: the operations completed on it since its last maintenance was recorded.

A config that declares ``maintenance: {every: 90 d, uses: 20000}`` makes maintenance due after
that many completed operations as well as after the days; :func:`maintenance_due` folds both
into the one date the implicit interlock ``equipment.maintenance_due >= today`` reads (the day
before today once the uses are used up, so no operation may start until maintenance is
recorded). Counting reads the index ``ix_operation_runs_equipment_completed`` only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Equipment
from engine.records.equipment_care import MaintenanceRecord
from engine.records.production import OperationRun

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Usage:
    """Operations completed on a machine since its last maintenance, against its limit."""

    uses: int
    limit: int

    @property
    def left(self) -> int:
        return self.limit - self.uses


def maintenance_usage(session: Session, config: Equipment) -> Usage | None:
    """The machine's usage since its last recorded maintenance (since ever without one); None
    when its config counts no uses."""
    interval = config.maintenance
    if interval is None or interval.every_uses is None:
        return None
    since = session.scalar(
        select(func.max(MaintenanceRecord.recorded_at)).where(
            MaintenanceRecord.equipment == config.name
        )
    )
    counted = select(func.count()).where(OperationRun.equipment == config.name)
    if since is not None:
        counted = counted.where(OperationRun.completed_at > since)
    return Usage(session.scalar(counted) or 0, interval.every_uses)


def maintenance_due(
    session: Session, config: Equipment, recorded: dt.date | None, today: dt.date
) -> dt.date | None:
    """The maintenance due date rules see: the recorded one, or yesterday once the machine's
    uses since its last maintenance reach the config's limit."""
    usage = maintenance_usage(session, config)
    if usage is None or usage.left > 0:
        return recorded
    used_up = today - DAY
    return used_up if recorded is None else min(recorded, used_up)
