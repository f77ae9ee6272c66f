"""What commands need besides the database: compiled plants by version, tag values, setpoints,
and the shared lookups that turn an item and an actor into the facts rules read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.diagnostics import did_you_mean
from dsl.model import Operation, Plant, Routing
from dsl.units import to_si
from engine.access import people
from engine.errors import NotFound
from engine.floor import usage
from engine.floor.environment import EquipmentFacts, OperatorFacts, equipment_state, site_today
from engine.floor.items import ItemRow
from engine.floor.tagsource import SetpointWriter, TagSource, TagValue
from engine.records.tables import EquipmentRecord, EquipmentStateChange


@dataclass(frozen=True)
class Runtime:
    """``plants`` gives the compiled plant of a config version id, read through the session
    (:func:`engine.commands.versions.plant_for_version`, which caches it)."""

    plants: Callable[[Session, int], Plant]
    tags: TagSource
    setpoints: SetpointWriter | None = None


def operation_of(plant: Plant, item: ItemRow, operation_id: str) -> tuple[Routing, Operation]:
    """The item's routing and the named operation of it; NotFound with a did-you-mean."""
    routing = plant.routing_for(item.product)
    try:
        return routing, routing.operation(operation_id)
    except KeyError:
        names = [op.id for op in routing.operations]
        hint = did_you_mean(operation_id, names)
        raise NotFound(
            f"Routing '{routing.name}' has no operation '{operation_id}'"
            + (f"; {hint}" if hint else f"; its operations are {', '.join(names)}")
        ) from None


def operator_facts(session: Session, username: str, today: dt.date) -> OperatorFacts:
    """The operator's roles and the qualifications valid ``today``."""
    return OperatorFacts(
        username,
        people.roles_of(session, username),
        people.qualifications_of(session, username, today),
    )


def equipment_facts(
    session: Session,
    plant: Plant,
    name: str,
    readings: Mapping[str, TagValue],
    now: dt.datetime,
) -> EquipmentFacts:
    """The equipment's state and due dates.

    A machine put *down* by hand (maintenance lock-out) is down; otherwise a machine with state
    rules is in the state they give on the live tags, and one without is in its recorded state.
    Due dates are the recorded ones (moved on by calibrations), else the config's; maintenance
    is due at once when the machine's uses since the last one reach the config's limit
    (:mod:`engine.floor.usage`).
    """
    config = plant.equipment[name]
    record = session.get(EquipmentRecord, name)
    recorded_state = record.state if record else "idle"
    manual_down = recorded_state == "down" and _last_source(session, name) == "manual"
    if manual_down:
        state = "down"
    elif config.state_rules:
        state = equipment_state(plant, config, readings, now)
    else:
        state = recorded_state
    maintenance_due = record.maintenance_due if record else config.maintenance_due
    used = usage.maintenance_usage(session, plant, config, readings, now)
    return EquipmentFacts(
        name,
        state,
        record.calibration_due if record else config.calibration_due,
        usage.maintenance_due(used, maintenance_due, site_today(plant, now)),
        used.unknown if used else "",
    )


def _last_source(session: Session, name: str) -> str | None:
    return session.scalar(
        select(EquipmentStateChange.source)
        .where(EquipmentStateChange.equipment == name)
        .order_by(EquipmentStateChange.id.desc())
        .limit(1)
    )


def stored_rule_value(value_num: float | None, value_text: str, unit: str | None, kind: str) -> Any:
    """A stored measurement as rules see it (SI numbers, dates as numbers)."""
    if kind in ("number", "integer"):
        return None if value_num is None else to_si(value_num, unit)
    if kind == "bool":
        return value_text == "true"
    if kind == "date":
        return keys.date_value(dt.date.fromisoformat(value_text))
    return value_text
