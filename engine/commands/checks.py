"""What start and completion look at before they act: the item's state, the rule environment
built from live readings, earlier entries and facts about operator and equipment, why values are
unavailable, and every interlock's verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.model import Operation, Plant
from engine.commands.explanations import rule_json
from engine.floor.environment import (
    EquipmentFacts,
    ItemFacts,
    OperationNeeds,
    OperatorFacts,
    build_environment,
    equipment_down_reason,
    needs_of,
    site_today,
    unavailable_reasons,
)
from engine.floor.items import ItemRow
from engine.floor.runtime import (
    Runtime,
    equipment_facts,
    operator_facts,
    stored_rule_value,
)
from engine.floor.tagsource import TagValue
from engine.records.production import (
    Measurement,
    OperationRun,
    table,
)
from engine.records.tables import EquipmentRecord, EquipmentStateChange

_runs = table(OperationRun)
_measurements = table(Measurement)


def state_problem(item: ItemRow, operation: str, *, starting: bool) -> str | None:
    """Why the item cannot start/complete ``operation`` now, or None."""
    verb = "start" if starting else "complete"
    if item.status == "on_hold":
        return (
            f"{item.label} is on hold (reason: {item.status_reason}); a supervisor must release "
            f"it before it can {verb} '{operation}'."
        )
    if item.status == "nonconforming":
        return (
            f"{item.label} has an open nonconformance ({item.status_reason}); quality must "
            f"disposition it before it can {verb} '{operation}'."
        )
    if item.status == "completed":
        return f"{item.label} is already completed; it has no operation left to {verb}."
    if item.status == "scrapped":
        return f"{item.label} was scrapped ({item.status_reason}); it cannot be worked on."
    if item.current_operation != operation:
        return (
            f"{item.label} waits at '{item.current_operation}', not '{operation}'; "
            f"{'start' if starting else 'complete'} '{item.current_operation}' first."
        )
    if starting and item.operation_started:
        return (
            f"'{operation}' on {item.label} is already started (by {item.started_by}); "
            "complete it, or reload to see who is working on it."
        )
    if not starting and not item.operation_started:
        return f"'{operation}' on {item.label} is not started; start it first."
    return None


def _readings(runtime: Runtime, needs: OperationNeeds) -> Mapping[str, TagValue]:
    return runtime.tags.read(needs.tags) if needs.tags else {}


def _earlier_fields(
    session: Session, plant: Plant, item: ItemRow, before: str | None
) -> dict[str, Any]:
    """The newest value of every field entered at earlier runs of the item, as rules see it."""
    rows = session.execute(
        select(
            _runs.c.operation,
            _measurements.c.field,
            _measurements.c.value_num,
            _measurements.c.value_text,
            _measurements.c.unit,
        )
        .select_from(_measurements.join(_runs, _runs.c.id == _measurements.c.run_id))
        .where(_runs.c.item_id == item.id)
        .order_by(_runs.c.id)
    )
    routing = plant.routing_for(item.product)
    values: dict[str, Any] = {}
    for row in rows:
        if row.operation == before:
            continue
        field = routing.operation(row.operation).field(row.field)
        if field is not None:
            value = stored_rule_value(row.value_num, row.value_text, row.unit, field.type)
            values[keys.field_key(row.operation, row.field)] = value
    return values


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What one step's rules are evaluated on: the live readings, the rule environment, and why
    values of it are unavailable, by environment key (``tag:press1.pressure``, and
    ``equipment.state`` while rules put the machine down because they cannot see it)."""

    readings: Mapping[str, TagValue]
    env: dict[str, Any]
    reasons: dict[str, str]


def _put_down_by_hand(session: Session, name: str) -> bool:
    """Whether the equipment is down by hand (a lock-out, which
    :func:`engine.floor.runtime.equipment_facts` keeps whatever its rules say)."""
    record = session.get(EquipmentRecord, name)
    if record is None or record.state != "down":
        return False
    source = session.scalar(
        select(EquipmentStateChange.source)
        .where(EquipmentStateChange.equipment == name)
        .order_by(EquipmentStateChange.id.desc())
        .limit(1)
    )
    return source == "manual"


def _equipment_reason(
    session: Session,
    plant: Plant,
    equipment: EquipmentFacts,
    readings: Mapping[str, TagValue],
    now: dt.datetime,
) -> str:
    """Why the equipment is down when its state rules cannot see it, else ""."""
    if equipment.state != "down":
        return ""
    reason = equipment_down_reason(plant, plant.equipment[equipment.name], readings, now)
    if not reason or _put_down_by_hand(session, equipment.name):
        return ""
    return reason


def step_facts(
    session: Session,
    runtime: Runtime,
    *,
    plant: Plant,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
    starting: bool,
    current: Mapping[str, Any],
) -> RuleFacts:
    """The live readings, the rule environment and why values are unavailable for starting (or
    completing) ``operation`` on ``item``, reading only what that step's rules need."""
    needs = needs_of(plant, operation, starting=starting)
    readings = _readings(runtime, needs)
    operator = (
        operator_facts(session, actor, site_today(plant, now))
        if needs.operator
        else OperatorFacts(actor, frozenset(), frozenset())
    )
    equipment = (
        equipment_facts(session, plant, operation.equipment, readings, now)
        if operation.equipment and needs.equipment
        else None
    )
    fields = current
    if needs.earlier_fields:
        fields = {**_earlier_fields(session, plant, item, operation.id), **current}
    env = build_environment(
        plant,
        needs,
        now=now,
        readings=readings,
        operator=operator,
        equipment=equipment,
        item=ItemFacts(item.number, item.quantity, item.rework_total),
        fields=fields,
    )
    reasons = unavailable_reasons(plant, needs.rule_tags, readings, now)
    if equipment is not None:
        down = _equipment_reason(session, plant, equipment, readings, now)
        if down:
            reasons["equipment.state"] = down
        if equipment.maintenance_unknown:
            reasons["equipment.maintenance_due"] = equipment.maintenance_unknown
    return RuleFacts(readings, env, reasons)


def interlock_checks(
    session: Session,
    runtime: Runtime,
    plant: Plant,
    *,
    item: ItemRow,
    operation: Operation,
    actor: str,
    now: dt.datetime,
) -> tuple[Mapping[str, TagValue], dict[str, Any], list[dict[str, Any]]]:
    """Every interlock of ``operation`` evaluated now: the readings, the environment, and each
    interlock's verdict as plain data, each reading with why it is unavailable (see
    :func:`rule_json`)."""
    facts = step_facts(
        session,
        runtime,
        plant=plant,
        item=item,
        operation=operation,
        actor=actor,
        now=now,
        starting=True,
        current={},
    )
    checks = [
        rule_json(i.name, i.because, i.rule, facts.env, reasons=facts.reasons, implicit=i.implicit)
        for i in operation.interlocks
    ]
    return facts.readings, facts.env, checks
