"""A faithful state history: each change with its cause, ``unknown`` when Ferrule cannot see the
machine, and a killed adapter's silence counted from its last heartbeat; the quarter-hour buckets
follow the history as it is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dsl.model import Plant
from engine.commands import equipment
from engine.errors import Invalid
from engine.facade.audit import AuditTrail
from engine.infra.db import Database
from engine.records.downtime import EquipmentStateBucket

PRESS = "crimp-press-1"
T0 = dt.datetime(2027, 2, 1, 6, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _history(db: Database) -> list[tuple[str, str, str, str, dt.datetime]]:
    with db.session() as session:
        return [
            (c.previous, c.state, c.cause, c.reason, c.at)
            for c in equipment.state_history(session, PRESS, since=T0)
        ]


def test_each_change_keeps_its_cause_and_unknown_is_a_state_of_its_own(
    db: Database, plant: Plant
) -> None:
    del plant  # deployed: the press exists
    with db.transaction() as session:
        equipment.record_state_change(
            session, PRESS, "running", actor="adapters", at=_at(0), source="rules",
            reason="running: press1.pressure > 10 bar",
        )  # fmt: skip
        equipment.record_state_change(
            session, PRESS, "unknown", actor="adapters", at=_at(60), source="rules",
            cause="device_unreachable", reason="press1.fault: press1: connection refused",
        )  # fmt: skip
        equipment.record_state_change(session, PRESS, "down", actor="maint", at=_at(90))
    assert _history(db) == [
        ("idle", "running", "state_rule", "running: press1.pressure > 10 bar", _at(0)),
        ("running", "unknown", "device_unreachable", "press1.fault: press1: connection refused",
         _at(60)),
        ("unknown", "down", "manual", "", _at(90)),
    ]  # fmt: skip
    with db.session() as session:
        assert equipment.status(session, PRESS).state == "down"
    assert AuditTrail(db).verify().ok


def test_a_killed_adapter_is_unknown_from_its_last_heartbeat_but_never_before_a_change(
    db: Database, plant: Plant
) -> None:
    del plant
    with db.transaction() as session:
        equipment.record_state_change(session, PRESS, "running", actor="adapters", at=_at(0),
                                      source="rules")  # fmt: skip
        equipment.record_state_change(session, PRESS, "idle", actor="adapters", at=_at(30),
                                      source="rules")  # fmt: skip
        # the last heartbeat (at 29 s) came before the last change it sent (30 s)
        equipment.record_state_change(session, PRESS, "unknown", actor="adapters", at=_at(29),
                                      source="rules", cause="adapter_not_running")  # fmt: skip
    assert [(s, cause, at) for _, s, cause, _, at in _history(db)] == [
        ("running", "state_rule", _at(0)),
        ("idle", "state_rule", _at(30)),
        ("unknown", "adapter_not_running", _at(30)),
    ]


def test_a_cause_that_is_not_one_is_refused(db: Database, plant: Plant) -> None:
    del plant
    with pytest.raises(Invalid) as bad, db.transaction() as session:
        equipment.record_state_change(session, PRESS, "down", actor="x", cause="gremlins")
    assert bad.value.message == (
        "'gremlins' is not a state cause; use one of state_rule, device_unreachable, "
        "adapter_not_running, manual."
    )


def test_buckets_hold_the_seconds_of_each_state_per_quarter_hour(
    db: Database, plant: Plant
) -> None:
    del plant
    with db.transaction() as session:
        for at, state in ((0, "running"), (600, "down"), (1_000, "running"), (2_000, "idle")):
            equipment.record_state_change(session, PRESS, state, actor="x", at=_at(at))
    with db.session() as session:
        rows = session.execute(
            select(EquipmentStateBucket.start, EquipmentStateBucket.state,
                   EquipmentStateBucket.seconds)
            .where(EquipmentStateBucket.equipment == PRESS, EquipmentStateBucket.start >= T0)
            .order_by(EquipmentStateBucket.start, EquipmentStateBucket.state)
        ).all()  # fmt: skip
    assert [(int((start - T0).total_seconds()), state, s) for start, state, s in rows] == [
        (0, "down", 300), (0, "running", 600),
        (900, "down", 100), (900, "running", 800),
        (1_800, "running", 200),
    ]  # fmt: skip
