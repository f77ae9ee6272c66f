"""Equipment records: current state and due dates, seeded from the deployed config.

The config gives each machine's calibration and maintenance due dates; recording a calibration or
maintenance moves them on. When a new config is deployed, a due date in it replaces the recorded
one only if it is later (an engineer updating the config after a calibration), so deploying never
undoes a recorded calibration; once a machine has calibration or maintenance records
(:mod:`engine.commands.calibration`, :mod:`engine.commands.maintenance`), the newest one with
the config's interval gives the date instead (:mod:`engine.commands.care_dues`). State changes
are kept as history for OEE.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import EquipmentState, Plant, StateCause
from engine.commands import care_dues, downtime
from engine.errors import Conflict, Invalid, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.base import utcnow
from engine.records.tables import EquipmentRecord, EquipmentStateChange

STATES = tuple(s.value for s in EquipmentState)
STATE_SOURCES = ("rules", "manual")
STATE_CAUSES = tuple(c.value for c in StateCause)


@dataclass(frozen=True, slots=True)
class EquipmentStatus(Jsonable):
    """A machine as the engine sees it now."""

    name: str
    state: str
    state_since: dt.datetime
    calibration_due: dt.date | None
    maintenance_due: dt.date | None


def seed(session: Session, plant: Plant, actor: str) -> None:
    """Create records for the plant's equipment and take later due dates from its config."""
    records = {r.name: r for r in session.scalars(select(EquipmentRecord))}
    now = utcnow()
    for name, config in plant.equipment.items():
        record = records.get(name)
        if record is None:
            session.add(
                EquipmentRecord(
                    name=name,
                    state=EquipmentState.IDLE.value,
                    calibration_due=config.calibration_due,
                    maintenance_due=config.maintenance_due,
                    state_since=now,
                    updated_at=now,
                )
            )
            new = {
                "calibration_due": config.calibration_due,
                "maintenance_due": config.maintenance_due,
            }
            audit.record(
                session,
                actor=actor,
                action="seed",
                entity="equipment",
                entity_id=name,
                new=new,
                reason="deployed config",
            )
            continue
        old = {"calibration_due": record.calibration_due, "maintenance_due": record.maintenance_due}
        record.calibration_due = _later(record.calibration_due, config.calibration_due)
        record.maintenance_due = _later(record.maintenance_due, config.maintenance_due)
        for column, due in care_dues.recorded_dues(session, config).items():
            setattr(record, column, due)  # a recorded calibration or maintenance drives it
        new = {"calibration_due": record.calibration_due, "maintenance_due": record.maintenance_due}
        if new != old:
            record.updated_at = now
            audit.record(
                session,
                actor=actor,
                action="update_dates",
                entity="equipment",
                entity_id=name,
                old=old,
                new=new,
                reason="deployed config",
            )
    session.flush()


def status(session: Session, name: str) -> EquipmentStatus:
    """A machine's current state and due dates."""
    return _status(_record(session, name))


def all_status(session: Session) -> list[EquipmentStatus]:
    """Every machine's status, by name."""
    return [
        _status(r) for r in session.scalars(select(EquipmentRecord).order_by(EquipmentRecord.name))
    ]


def record_calibration(
    session: Session, name: str, *, actor: str, done_on: dt.date, next_due: dt.date, note: str = ""
) -> EquipmentStatus:
    """A calibration was done on ``done_on``; the next one is due on ``next_due``."""
    return _move_due(
        session, name, "calibration_due", actor=actor, done_on=done_on, next_due=next_due, note=note
    )


def record_maintenance(
    session: Session, name: str, *, actor: str, done_on: dt.date, next_due: dt.date, note: str = ""
) -> EquipmentStatus:
    """Maintenance was done on ``done_on``; the next is due on ``next_due``."""
    return _move_due(
        session, name, "maintenance_due", actor=actor, done_on=done_on, next_due=next_due, note=note
    )


def record_state_change(
    session: Session,
    name: str,
    state: str,
    *,
    actor: str,
    at: dt.datetime | None = None,
    source: str = "manual",
    reason: str = "",
    cause: str | None = None,
) -> bool:
    """Record that a machine entered ``state`` at ``at`` (default now); False if it already was.

    ``source`` is ``rules`` (derived from live tags by the config's state rules) or ``manual``;
    ``cause`` (a :class:`~dsl.model.StateCause`, by default ``state_rule`` for rules and
    ``manual`` otherwise) says why. The adapter process reports that it stopped at its last
    heartbeat, which may precede the machine's last change: that ``unknown`` then starts with it.
    """
    if state not in STATES:
        raise Invalid(
            f"'{state}' is not an equipment state; use one of {', '.join(STATES)}.", field="state"
        )
    if source not in STATE_SOURCES:
        raise Invalid(f"'{source}' is not a state source; use 'rules' or 'manual'.", field="source")
    cause = cause or (StateCause.STATE_RULE.value if source == "rules" else "manual")
    if cause not in STATE_CAUSES:
        raise Invalid(
            f"'{cause}' is not a state cause; use one of {', '.join(STATE_CAUSES)}.", field="cause"
        )
    record = _record(session, name)
    if record.state == state:
        return False
    at = at or utcnow()
    if cause == StateCause.ADAPTER_NOT_RUNNING.value:
        at = max(at, record.state_since)
    if at < record.state_since:
        raise Conflict(
            f"Equipment '{name}' has been {record.state} since {record.state_since.isoformat()}; "
            f"a change at {at.isoformat()} would be older than that. Record changes in time order."
        )
    previous, since = record.state, record.state_since
    session.add(
        EquipmentStateChange(
            equipment=name,
            previous=previous,
            state=state,
            at=at,
            source=source,
            actor=actor,
            reason=reason,
            cause=cause,
        )
    )
    downtime.add_state_time(session, name, previous, since, at)
    record.state, record.state_since, record.updated_at = state, at, utcnow()
    session.flush()  # the machine's row is locked before the audit chain's head, as everywhere
    audit.record(
        session,
        actor=actor,
        action="state_change",
        entity="equipment",
        entity_id=name,
        old={"state": previous},
        new={"state": state, "at": at, "cause": cause},
        reason=reason,
    )
    return True


def state_history(
    session: Session, name: str, since: dt.datetime | None = None
) -> list[EquipmentStateChange]:
    """A machine's state changes in time order (from ``since`` when given), for OEE."""
    query = select(EquipmentStateChange).where(EquipmentStateChange.equipment == name)
    if since is not None:
        query = query.where(EquipmentStateChange.at >= since)
    return list(session.scalars(query.order_by(EquipmentStateChange.at, EquipmentStateChange.id)))


def _move_due(
    session: Session,
    name: str,
    column: str,
    *,
    actor: str,
    done_on: dt.date,
    next_due: dt.date,
    note: str,
) -> EquipmentStatus:
    if next_due <= done_on:
        raise Invalid(
            f"The next due date {next_due} must be after the day the work was done ({done_on}).",
            field="next_due",
        )
    record = _record(session, name)
    old = getattr(record, column)
    setattr(record, column, next_due)
    record.updated_at = utcnow()
    action = column.removesuffix("_due")
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="equipment",
        entity_id=name,
        old={column: old},
        new={column: next_due, "done_on": done_on},
        reason=note,
    )
    session.flush()
    return _status(record)


def _record(session: Session, name: str) -> EquipmentRecord:
    record = session.get(EquipmentRecord, name)
    if record is None:
        raise NotFound(
            f"There is no equipment '{name}'; equipment comes from the deployed config — check "
            "the name or deploy a config that declares it."
        )
    return record


def _status(record: EquipmentRecord) -> EquipmentStatus:
    return EquipmentStatus(
        record.name,
        record.state,
        record.state_since,
        record.calibration_due,
        record.maintenance_due,
    )


def _later(recorded: dt.date | None, configured: dt.date | None) -> dt.date | None:
    if recorded is None or configured is None:
        return configured if recorded is None else recorded
    return max(recorded, configured)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
