"""The component scan check: is this lot (or serial) one the item's current operation may
consume now? Asks the engine's own BOM check, read-only, for the one scanned line."""

from __future__ import annotations

import dataclasses

from dsl.diagnostics import did_you_mean
from dsl.units import format_number
from engine.commands.bom import ConsumptionInput, plan_consumptions
from engine.errors import Invalid
from engine.facade.production import Ferrule
from engine.floor.environment import site_today
from engine.floor.items import find_item
from engine.floor.runtime import operation_of


def check_component(ferrule: Ferrule, number: str, scanned: ConsumptionInput) -> str:
    """What the scan would consume, e.g. ``Lot T-001: 2 pcs of TERM-22``; the engine's
    Invalid/NotFound (wrong part, expired, on hold, used up) when it may not be used."""
    with ferrule.db.session() as session:
        item = find_item(session, number)
        plant = ferrule.runtime.plants(session, item.config_version_id)
        if item.current_operation is None:
            raise Invalid(f"{item.label} has no operation to consume components at.")
        operation = operation_of(plant, item, item.current_operation)[1]
        line = next((c for c in operation.consume if c.part == scanned.part), None)
        if line is None:
            consumed = [c.part for c in operation.consume]
            hint = did_you_mean(scanned.part, consumed)
            raise Invalid(
                f"'{operation.id}' does not consume {scanned.part}"
                + (f"; {hint}" if hint else f"; it consumes {', '.join(consumed) or 'nothing'}"),
                field="consume",
            )
        part = plant.parts.get(line.part)
        if part is not None and part.tracking == "serial":
            line = dataclasses.replace(line, quantity=1.0)  # one serial of several
            scanned = dataclasses.replace(scanned, quantity=1.0)
        single = dataclasses.replace(operation, consume=(line,))
        (planned,) = plan_consumptions(
            session,
            plant=plant,
            operation=single,
            item=item,
            inputs=[scanned],
            today=site_today(plant, ferrule.clock()),
        )
    return f"{scanned.lot}: {format_number(planned.quantity)} {planned.unit} of {line.part}"
