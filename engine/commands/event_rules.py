"""Event rules acting and being recorded: the evaluator that runs every rule of the deployed plant
on live tags (:class:`Evaluator`), what a firing does (hold equipment, notify a role, write a
setpoint) and its record.

Every firing or suppression (see :mod:`engine.floor.event_rules`) is one append-only
``event_rule_firings`` row with the readings the rule saw and each action's outcome, audited
(``event_rule`` / ``fire`` or ``suppress``) in the same transaction, which also writes its outbox
event ``event_rule.fire``. A setpoint write goes to the device before that transaction opens (a
device is never written while the database is locked); its outcome is part of the record. One
action failing (the equipment unknown to the records, a read-back that does not match) does not
stop the others: its outcome says what went wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import EventAction, EventRule, Plant
from dsl.rules import Env, Unavailable
from dsl.units import from_si
from engine.commands import nonconformances
from engine.commands.equipment import record_state_change
from engine.errors import DomainError
from engine.floor.environment import ReadingSeen
from engine.floor.event_rules import Verdict
from engine.floor.tagsource import Scalar, SetpointWriter
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.event_rules import EventRuleFiring

ACTOR = "event-rules"
"""Who the audit trail says acted: the event rule process."""
log = logging.getLogger("ferrule.event_rules")


@dataclass(frozen=True, slots=True)
class ActionOutcome(Jsonable):
    """One action of a firing and what came of it (``ok`` False: it could not be done)."""

    action: str
    outcome: str
    ok: bool


@dataclass(frozen=True, slots=True)
class FiringInfo(Jsonable):
    """A recorded firing (``outcome`` ``fired``) or suppression (``suppressed``) of a rule."""

    id: int
    rule: str
    outcome: str
    at: dt.datetime
    because: str
    readings: tuple[ReadingSeen, ...]
    actions: tuple[ActionOutcome, ...]
    config_version_id: int


def write_setpoint(
    action: EventAction, plant: Plant, env: Env, writer: SetpointWriter | None
) -> ActionOutcome:
    """Write a setpoint action's value to its tag, in the tag's unit."""
    described = action.describe()
    assert action.value is not None
    if writer is None:
        return ActionOutcome(described, "not written: no setpoint writer is connected", False)
    try:
        value: Scalar = action.value.value(env)
    except Unavailable as missing:
        return ActionOutcome(described, f"not written: {missing}", False)
    tag = plant.tag(action.target)
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = from_si(float(value), tag.unit)
    tolerance = abs(value) * 1e-6 if isinstance(value, float) else 0.0
    problem = writer.write(action.target, value, tolerance)
    return ActionOutcome(described, problem or "written", problem is None)


def _act(
    session: Session, rule: EventRule, action: EventAction, *, version_id: int, at: dt.datetime
) -> ActionOutcome:
    """Carry out a hold, a nonconformance or a notification inside the firing's transaction."""
    described = action.describe()
    if action.kind == "notify":
        return ActionOutcome(described, f"{action.target} notified", True)
    reason = f"event rule {rule.name}: {rule.because}"
    if action.kind == "nonconformance":
        nc_id = nonconformances.on_equipment_by_rule(
            session, equipment=action.target, defect_code=f"event-{rule.name}",
            description=reason, actor=ACTOR, version_id=version_id, now=at,
        )  # fmt: skip
        return ActionOutcome(described, f"nonconformance #{nc_id} opened", True)
    try:
        changed = record_state_change(session, action.target, "down", actor=ACTOR, reason=reason)
    except DomainError as refused:
        return ActionOutcome(described, f"not held: {refused.message}", False)
    return ActionOutcome(described, "down" if changed else "already down", True)


def record_firing(
    session: Session,
    rule: EventRule,
    verdict: Verdict,
    *,
    version_id: int,
    readings: tuple[ReadingSeen, ...],
    written: Mapping[int, ActionOutcome],
    at: dt.datetime,
) -> FiringInfo:
    """Carry out ``rule``'s actions (for ``fire``; the setpoint writes already done, by action
    index, in ``written``) and record the firing or suppression with its audit row."""
    outcome = "fired" if verdict is Verdict.FIRE else "suppressed"
    actions: list[ActionOutcome] = []
    for index, action in enumerate(rule.actions):
        if verdict is not Verdict.FIRE:
            actions.append(ActionOutcome(action.describe(), "suppressed by at_most", False))
        elif action.kind == "write":
            actions.append(written[index])
        else:
            actions.append(_act(session, rule, action, version_id=version_id, at=at))
    firing = EventRuleFiring(
        rule=rule.name,
        outcome=outcome,
        at=at,
        because=rule.because,
        readings=json.dumps([r.to_json() for r in readings]),
        actions=json.dumps([a.to_json() for a in actions]),
        config_version_id=version_id,
    )
    session.add(firing)
    session.flush()
    info = _info(firing)
    new = {k: v for k, v in info.to_json().items() if k not in ("rule", "because")}
    audit.record(
        session,
        actor=ACTOR,
        action="fire" if verdict is Verdict.FIRE else "suppress",
        entity="event_rule",
        entity_id=rule.name,
        new=new,
        reason=rule.because,
    )
    return info


def _info(row: EventRuleFiring) -> FiringInfo:
    return FiringInfo(
        id=row.id,
        rule=row.rule,
        outcome=row.outcome,
        at=row.at,
        because=row.because,
        readings=tuple(ReadingSeen.from_json(r) for r in json.loads(row.readings)),
        actions=tuple(ActionOutcome.from_json(a) for a in json.loads(row.actions)),
        config_version_id=row.config_version_id,
    )


def recent_firings(session: Session, *, rule: str | None = None, limit: int) -> list[FiringInfo]:
    """The latest firings (all rules, or one), newest first."""
    query = select(EventRuleFiring).order_by(EventRuleFiring.id.desc()).limit(limit)
    if rule is not None:
        query = query.where(EventRuleFiring.rule == rule)
    return [_info(row) for row in session.scalars(query)]


def rules_with_firings(session: Session) -> frozenset[str]:
    """The rules that fired (or were suppressed) before: after a restart they wait to re-arm."""
    return frozenset(session.scalars(select(EventRuleFiring.rule).group_by(EventRuleFiring.rule)))


def firing_count(session: Session) -> int:
    """How many firings and suppressions are recorded."""
    return session.scalar(select(func.count()).select_from(EventRuleFiring)) or 0
