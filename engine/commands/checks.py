"""What start and completion look at before they act: the item's state, the rule environment
built from live readings, earlier entries and facts about operator and equipment, and every
interlock's verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.model import Operation, Plant
from engine.commands.explanations import explanation_json
from engine.floor.environment import (
    ItemFacts,
    OperationNeeds,
    OperatorFacts,
    build_environment,
    needs_of,
    site_today,
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


def rule_facts(
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
) -> tuple[Mapping[str, TagValue], dict[str, Any]]:
    """The live readings and the rule environment for starting (or completing) ``operation`` on
    ``item``, reading only what that step's rules need."""
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
    return readings, build_environment(
        plant,
        needs,
        now=now,
        readings=readings,
        operator=operator,
        equipment=equipment,
        item=ItemFacts(item.number, item.quantity, item.rework_total),
        fields=fields,
    )


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
    interlock's verdict as plain data (see :func:`explanation_json`)."""
    readings, env = rule_facts(
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
        explanation_json(i.name, i.because, i.rule.explain(env), implicit=i.implicit)
        for i in operation.interlocks
    ]
    return readings, env, checks
