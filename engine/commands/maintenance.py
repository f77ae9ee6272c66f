"""Preventive maintenance: recording it, signed, and what is due when.

Maintenance is recorded like a calibration (:mod:`engine.commands.calibration`): by someone
holding one of its ``CARE_ROLES``, signed with their password. The newest record with the
interval the config declares (``maintenance: {every: 30 d}``) gives the next due date; the
implicit interlock of every operation on the machine blocks a start once it is overdue.
:func:`due_list` says, for every machine, what is overdue or due within its warning period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import CareInterval, Plant
from engine.access.signatures import Signer
from engine.commands import care_dues
from engine.commands.calibration import (
    CareTarget,
    care_target,
    check_performed,
    check_signer,
    sign_record,
)
from engine.errors import Conflict, Invalid
from engine.floor import usage
from engine.floor.environment import site_today
from engine.floor.tagsource import TagValue
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.equipment_care import MaintenanceOrder, MaintenanceRecord
from engine.records.tables import EquipmentRecord

DEFAULT_WARN_DAYS = 7  # without an interval's ``warn``, the days ahead a due date is announced
USES_WARN = 0.1  # maintenance counted in uses is announced when this share of them is left


@dataclass(frozen=True, slots=True)
class MaintenanceInput:
    """What a maintenance record says: the day, who performed it, and the work done."""

    performed_on: dt.date
    performed_by: str
    work_done: str


@dataclass(frozen=True, slots=True)
class MaintenanceInfo(Jsonable):
    """A recorded maintenance, and the next due date it set."""

    id: int
    equipment: str
    performed_on: dt.date
    performed_by: str
    work_done: str
    next_due: dt.date
    recorded_by: str
    recorded_at: dt.datetime
    counter_at: float | None = None  # the usage counter tag's value, when the config has one
    order: str = ""  # the maintenance order it closed, if one was open


@dataclass(frozen=True, slots=True)
class DueWork(Jsonable):
    """A calibration or maintenance that is overdue or due soon on a machine."""

    equipment: str
    kind: str  # calibration | maintenance
    due: dt.date
    overdue: bool
    days_left: int
    uses_left: int | None = None  # uses left before maintenance, when the config counts them


def check_maintenance(
    session: Session,
    *,
    name: str,
    actor: str,
    given: MaintenanceInput,
    signer: str,
    meaning: str,
    now: dt.datetime,
    readings: Mapping[str, TagValue],
) -> CareTarget:
    """Everything :func:`record_maintenance` checks before the signature is verified; writes
    nothing. The machine it is for (with a usage counter, one that can be read: its value now is
    where the uses since this maintenance count from)."""
    target = care_target(session, name)
    check_signer(
        session, actor=actor, signer=signer, meaning=meaning, doing=f"record maintenance of {name}"
    )
    check_performed(
        target,
        performed_on=given.performed_on,
        performed_by=given.performed_by,
        now=now,
        what="maintenance",
    )
    if not given.work_done.strip():
        raise Invalid("Say what maintenance work was done.", field="work_done")
    if target.config.maintenance is None:
        raise Invalid(
            f"Equipment {name} declares no maintenance interval, so the next due date is "
            f"unknown; add `maintenance: {{every: 30 d}}` under {name} in site.yaml and deploy.",
            field="equipment",
        )
    _counter_now(target, readings, now)
    return target


def _counter_now(
    target: CareTarget, readings: Mapping[str, TagValue], now: dt.datetime
) -> float | None:
    """The machine's usage counter now (None without one); refused while it cannot be read."""
    interval = target.config.maintenance
    if interval is None or interval.counter is None:
        return None
    value, why = usage.counter_reading(target.plant, interval.counter, readings, now)
    if value is None:
        raise Conflict(
            f"Maintenance of {target.config.name} cannot be recorded now: {why}, and the uses "
            "since this maintenance count from its value. Record it once the counter reads again.",
            code="counter_unavailable",
        )
    return value


def record_maintenance(
    session: Session,
    *,
    name: str,
    actor: str,
    given: MaintenanceInput,
    signer: Signer,
    now: dt.datetime,
    readings: Mapping[str, TagValue],
) -> MaintenanceInfo:
    """Record signed maintenance, with the usage counter's value when the config has one; the
    newest maintenance sets the machine's due date, and it closes the machine's maintenance
    order if one is open."""
    target = check_maintenance(
        session, name=name, actor=actor, given=given, signer=signer.username,
        meaning=signer.meaning, now=now, readings=readings,
    )  # fmt: skip
    config = target.config
    next_due = care_dues.next_due(config.maintenance, given.performed_on)
    assert next_due is not None  # checked: the config declares an interval
    row = MaintenanceRecord(
        equipment=name,
        performed_on=given.performed_on,
        performed_by=given.performed_by.strip(),
        work_done=given.work_done.strip(),
        next_due=next_due,
        recorded_by=actor,
        recorded_at=now,
        config_version_id=target.version_id,
        counter_at=_counter_now(target, readings, now),
    )
    session.add(row)
    session.flush()
    order = _open_order(session, name)
    info = _info(row, order.number if order else "")
    machine = target.record
    old = {"maintenance_due": machine.maintenance_due}
    latest = care_dues.latest_maintenance(session, name)
    assert latest is not None  # the row just added
    machine.maintenance_due = care_dues.maintenance_due_after(latest, config)
    machine.updated_at = now
    signed = sign_record(
        session, signer, record_type="maintenance", record_id=row.id, info=info, now=now,
        version_id=target.version_id,
    )  # fmt: skip
    new = {"maintenance_due": machine.maintenance_due, "maintenance": row.id}
    changes = [audit.Change(actor, "maintain", "equipment", name, old, new, row.work_done)]
    if order is not None:
        changes.append(_close(order, row.id, actor, now))
    audit.record_many(session, [*changes, *signed])
    return info


def _open_order(session: Session, name: str) -> MaintenanceOrder | None:
    """The machine's maintenance order that is open or in progress, if any."""
    return session.scalar(
        select(MaintenanceOrder)
        .where(
            MaintenanceOrder.equipment == name,
            MaintenanceOrder.status.in_(("open", "in_progress")),
        )
        .order_by(MaintenanceOrder.id)
        .limit(1)
        .with_for_update()
    )


def _close(
    order: MaintenanceOrder, maintenance_id: int, actor: str, now: dt.datetime
) -> audit.Change:
    """Mark ``order`` done by the maintenance record ``maintenance_id``; its audit change."""
    old = {"status": order.status}
    order.status = "done"
    order.closed_at = now
    order.closed_by = actor
    order.maintenance_id = maintenance_id
    new = {"status": "done", "maintenance": maintenance_id}
    return audit.Change(
        actor, "close", "maintenance_order", order.number, old, new, "maintenance recorded"
    )


def maintenance_history(session: Session, name: str, limit: int = 50) -> list[MaintenanceInfo]:
    """A machine's maintenance, newest first."""
    rows = session.scalars(
        select(MaintenanceRecord)
        .where(MaintenanceRecord.equipment == name)
        .order_by(MaintenanceRecord.performed_on.desc(), MaintenanceRecord.id.desc())
        .limit(limit)
    )
    return [_info(row) for row in rows]


def due_list(
    session: Session, plant: Plant, readings: Mapping[str, TagValue], now: dt.datetime
) -> list[DueWork]:
    """Every calibration and maintenance overdue or due within its warning period, soonest
    first (a machine without an interval is warned :data:`DEFAULT_WARN_DAYS` ahead); maintenance
    counted in uses is also due once :data:`USES_WARN` of its uses are left. ``readings`` holds
    the usage counter tags (:func:`engine.floor.usage.counter_tags`); a machine whose uses
    cannot be counted is listed by its recorded date alone (its interlock blocks meanwhile)."""
    today = site_today(plant, now)
    found: list[DueWork] = []
    for record in session.scalars(select(EquipmentRecord).order_by(EquipmentRecord.name)):
        config = plant.equipment.get(record.name)
        if config is None:
            continue
        used = usage.maintenance_usage(session, plant, config, readings, now)
        uses_left = None if used is None else used.left
        maintenance_due = usage.maintenance_due(used, record.maintenance_due, today)
        if used is not None and used.left is None:
            maintenance_due = record.maintenance_due
        for kind, due, interval, left in (
            ("calibration", record.calibration_due, config.calibration, None),
            ("maintenance", maintenance_due, config.maintenance, uses_left),
        ):
            if due is None:
                continue
            days_left = (due - today).days
            warn_uses = used is not None and left is not None and left <= used.limit * USES_WARN
            if days_left <= _warn_days(interval) or warn_uses:
                found.append(DueWork(record.name, kind, due, days_left < 0, days_left, left))
    return sorted(found, key=lambda work: (work.due, work.equipment, work.kind))


def _warn_days(interval: CareInterval | None) -> int:
    return DEFAULT_WARN_DAYS if interval is None else interval.warn_days


def _info(row: MaintenanceRecord, order: str = "") -> MaintenanceInfo:
    return MaintenanceInfo(
        id=row.id,
        equipment=row.equipment,
        performed_on=row.performed_on,
        performed_by=row.performed_by,
        work_done=row.work_done,
        next_due=row.next_due,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        counter_at=row.counter_at,
        order=order,
    )
