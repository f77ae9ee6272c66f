"""Usage of a machine since its last maintenance: operations completed on it, or the counts of
its usage counter tag.

A config that declares ``maintenance: {every: 90 d, uses: 20000}`` makes maintenance due after
that many completed operations as well as after the days; with ``counter: press1.strokes`` the
uses are the counts of that tag since the last maintenance instead (the counter's value is
stored with each maintenance record: usage = now − at the maintenance; without a record, the
counter counts from zero). :func:`maintenance_due` folds the uses into the one date the implicit
interlock ``equipment.maintenance_due >= today`` reads (the day before today once the uses are
used up, so no operation may start until maintenance is recorded).

Fail safe: when the counter cannot be read (bad, stale, no reading), or it went *down* since the
last maintenance (reset or rollover: the counts in between are unknown), the usage is unknown,
the machine has no maintenance due date for rules, and the interlock cannot pass; ``unknown``
says why, for the operator and the equipment page. Recording the maintenance counts from the
new value. Counting operations reads the index ``ix_operation_runs_equipment_completed`` only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Equipment, Plant
from engine.floor.environment import unavailable, unavailable_reason
from engine.floor.tagsource import TagValue
from engine.records.equipment_care import MaintenanceRecord
from engine.records.production import OperationRun

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Usage:
    """A machine's uses since its last maintenance against its limit; ``uses`` is None, with
    ``unknown`` saying why, when its counter cannot be counted. ``counter`` names the counter
    tag and ``reading`` its current value, when the config declares one."""

    uses: int | None
    limit: int
    counter: str | None = None
    reading: float | None = None
    unknown: str = ""

    @property
    def left(self) -> int | None:
        """Uses left before maintenance is due (None while unknown)."""
        return None if self.uses is None else self.limit - self.uses


def counter_tags(plant: Plant) -> list[str]:
    """Every usage counter tag the plant's machines declare."""
    return sorted(
        {
            e.maintenance.counter
            for e in plant.equipment.values()
            if e.maintenance and e.maintenance.counter
        }
    )


def counter_reading(
    plant: Plant, key: str, readings: Mapping[str, TagValue], now: dt.datetime
) -> tuple[float | None, str]:
    """The counter's current value, or None and why it cannot be used."""
    reading = readings.get(key)
    reason = unavailable_reason(plant.tag(key), reading, now) if reading is not None else ""
    value = None if reading is None or reason else reading.value
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return None, unavailable(key, reason or "no reading")
    return float(value), ""


def maintenance_usage(
    session: Session,
    plant: Plant,
    config: Equipment,
    readings: Mapping[str, TagValue],
    now: dt.datetime,
) -> Usage | None:
    """The machine's usage since its last recorded maintenance (since ever without one); None
    when its config counts no uses."""
    interval = config.maintenance
    if interval is None or interval.every_uses is None:
        return None
    latest = session.execute(
        select(MaintenanceRecord.recorded_at, MaintenanceRecord.counter_at)
        .where(MaintenanceRecord.equipment == config.name)
        .order_by(MaintenanceRecord.recorded_at.desc(), MaintenanceRecord.id.desc())
        .limit(1)
    ).first()
    if interval.counter is None:
        counted = select(func.count()).where(OperationRun.equipment == config.name)
        if latest is not None:
            counted = counted.where(OperationRun.completed_at > latest.recorded_at)
        return Usage(session.scalar(counted) or 0, interval.every_uses)
    key = interval.counter
    value, why = counter_reading(plant, key, readings, now)
    if value is None:
        return Usage(None, interval.every_uses, key, None, f"{why}, so the uses of {config.name} "
                     "since its last maintenance cannot be counted")  # fmt: skip
    at_maintenance = latest.counter_at if latest is not None and latest.counter_at else 0.0
    if value < at_maintenance:
        return Usage(
            None, interval.every_uses, key, value,
            f"{key} went down from {at_maintenance:g} at the last maintenance to {value:g} "
            f"(a counter reset or rollover), so the uses of {config.name} since cannot be "
            "counted; record the maintenance to count from the new value",
        )  # fmt: skip
    return Usage(int(value - at_maintenance), interval.every_uses, key, value)


def maintenance_due(
    usage: Usage | None, recorded: dt.date | None, today: dt.date
) -> dt.date | None:
    """The maintenance due date rules see: the recorded one, yesterday once the machine's uses
    since its last maintenance reach the config's limit, and none (the interlock cannot pass)
    while its uses are unknown."""
    if usage is None:
        return recorded
    left = usage.left
    if left is None:
        return None
    if left > 0:
        return recorded
    used_up = today - DAY
    return used_up if recorded is None else min(recorded, used_up)
