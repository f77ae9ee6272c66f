"""The BOM check at completion: the right part, an available lot, not expired, not on hold,
enough left, a serial never used twice — then the consumption itself and its genealogy links.

A routing's quantities are per unit of the product: an item draws them times its quantity (a
unit is 1, a lot of 500 kg draws 500 times the per-kg quantity). A component the routing
consumes is either a purchased part (a lot, or a serialized component stored as a lot of quantity
1) or, when the part's name is also a product made here and the scanned number is one of its
items, a finished item of that product (a sub-assembly), consumed whole and only once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import String, bindparam, select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Consumption as ConsumeLine
from dsl.model import Operation, Plant
from dsl.units import format_number, from_si, parse_unit, same_dimension, to_si
from engine.commands.kitting import check_reserved, draw_down, reserved_on
from engine.commands.lots import check_fefo
from engine.commands.materials import AVAILABLE, CONSUMED, EPSILON, EXPIRED, QUARANTINE, take
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.environment import site_today
from engine.floor.items import ItemRow, find_item
from engine.floor.runtime import Runtime, operation_of
from engine.infra import audit
from engine.infra.limits import check_quantity
from engine.infra.statements import Sql, Statement, insert_rows
from engine.records.production import Consumption, Item, table
from engine.records.tables import Lot

_lots = table(Lot)
_links = table(Consumption)
_items = table(Item)
_LOT_COLUMNS = select(
    _lots.c.number,
    _lots.c.id,
    _lots.c.part,
    _lots.c.quantity,
    _lots.c.unit,
    _lots.c.status,
    _lots.c.expires_on,
    _lots.c.hold_reason,
    reserved_on(_lots.c.id),
).order_by(_lots.c.id)
_lots_numbered: dict[int, Statement] = {}
_LOT = Statement(_LOT_COLUMNS.where(_lots.c.id == bindparam("lot_id")))
_INSERT_LINKS = insert_rows(_links)


@dataclass(frozen=True, slots=True)
class ConsumptionInput:
    """What the operator scanned: a part, the lot (or serial, or made item) number, and the
    quantity taken in the routing's unit (None: the routing's quantity)."""

    part: str
    lot: str
    quantity: float | None = None


class _LotRow(NamedTuple):
    number: str
    id: int
    part: str
    quantity: float
    unit: str
    status: str
    expires_on: dt.date | None
    hold_reason: str
    reserved: float  # what kits keep of it


class _MadeItem(NamedTuple):
    id: int
    product: str
    status: str


@dataclass(frozen=True, slots=True)
class PlannedConsumption:
    """A checked consumption, ready to write; ``quantity`` is in ``unit`` (the lot's).
    ``serial``: a purchased serial (a lot of quantity 1), taken whole like a made item."""

    part: str
    number: str
    quantity: float
    unit: str
    lot_id: int | None = None
    component_item_id: int | None = None
    serial: bool = False
    reserved: bool = False  # some kit keeps part of the lot: consuming draws its reservation

    @property
    def label(self) -> str:
        """How messages name it: ``Serial 'SN-1' of part 'SENSOR'``, ``SUB-1 'S0001'``, or
        ``Lot 'W-001' of part 'WIRE'``."""
        if self.component_item_id is not None:
            return f"{self.part} '{self.number}'"
        return f"{'Serial' if self.serial else 'Lot'} '{self.number}' of part '{self.part}'"


def _problem(message: str) -> Invalid:
    return Invalid(message, field="consume")


def needed(line: ConsumeLine, item: ItemRow) -> float:
    """What ``item`` draws of ``line``: the routing's quantity per product unit times the item's
    quantity (1 for a unit, the lot's quantity for a lot)."""
    return round(line.quantity * item.quantity, 9)


def _in_lot_unit(quantity: float, line: ConsumeLine, lot_unit: str) -> float:
    if line.unit == lot_unit or not parse_unit(line.unit) or not parse_unit(lot_unit):
        return quantity
    if not same_dimension(line.unit, lot_unit):
        return quantity
    return from_si(to_si(quantity, line.unit), lot_unit)


def _taken(line: ConsumeLine, scanned: ConsumptionInput) -> float | None:
    """The quantity given for one scan (None: none given), a finite number above zero."""
    if scanned.quantity is None:
        return None
    what = f"{line.part}: the quantity taken from lot '{scanned.lot}'"
    return check_quantity(scanned.quantity, what, line.unit, field="consume")


def _quantities(
    line: ConsumeLine, given: Sequence[ConsumptionInput], operation: Operation, item: ItemRow
) -> list[float]:
    """The quantity taken from each scanned lot, checked against what the item draws."""
    taken = [_taken(line, scanned) for scanned in given]
    wanted = needed(line, item)
    if taken == [None]:
        return [wanted]
    quantities = [q for q in taken if q is not None]
    if len(quantities) < len(taken):
        raise _problem(
            f"Several lots of {line.part} were scanned for '{operation.id}'; give the quantity "
            f"taken from each (together {format_number(wanted)} {line.unit})."
        )
    total = sum(quantities)
    if abs(total - wanted) > wanted * (line.tolerance or 0.0) + EPSILON:
        spec = f"{format_number(wanted)} {line.unit}"
        if line.tolerance:
            spec += f" ± {format_number(line.tolerance * 100)} %"
        raise _problem(
            f"{line.part}: {format_number(total)} {line.unit} taken, but '{operation.id}' "
            f"consumes {spec}; correct the quantity."
        )
    return quantities


def plan_consumptions(
    session: Session | Sql,
    *,
    plant: Plant,
    operation: Operation,
    item: ItemRow,
    inputs: Sequence[ConsumptionInput],
    today: dt.date,
) -> list[PlannedConsumption]:
    """Check every scanned component against the operation's consume list."""
    if not operation.consume and not inputs:
        return []
    sql = Sql.of(session)
    lines = {line.part: line for line in operation.consume}
    for entry in inputs:
        if entry.part not in lines:
            hint = did_you_mean(entry.part, lines)
            consumed = ", ".join(lines) or "nothing"
            raise _problem(
                f"'{operation.id}' does not consume {entry.part}; "
                + (hint if hint else f"it consumes {consumed}")
                + "."
            )
    lots = _lots_of(sql, [entry.lot for entry in inputs])
    planned: list[PlannedConsumption] = []
    for line in operation.consume:
        given = [g for g in inputs if g.part == line.part]
        if not given:
            raise _problem(
                f"'{operation.id}' consumes {format_number(needed(line, item))} {line.unit} of "
                f"{line.part}; scan a lot of {line.part}."
            )
        quantities = _quantities(line, given, operation, item)
        for scanned, quantity in zip(given, quantities, strict=True):
            component = (
                _plan_component(sql, line, scanned, quantity, item)
                if line.part in plant.products
                else None
            )
            planned.append(
                component
                or _plan_lot(
                    sql,
                    lots.get(scanned.lot, []),
                    plant=plant,
                    line=line,
                    scanned=scanned,
                    quantity=quantity,
                    today=today,
                    work_order_id=item.work_order_id,
                )
            )
    _scanned_once(planned)
    return planned


def _scanned_once(planned: Sequence[PlannedConsumption]) -> None:
    """A serial or a made item is taken whole: scanning it twice in one completion is a mistake
    the operator can see and fix (a lot may be scanned twice, for two weighings)."""
    seen: set[tuple[str, str]] = set()
    for plan in planned:
        if plan.serial or plan.component_item_id is not None:
            if (plan.part, plan.number) in seen:
                noun = "serial" if plan.serial else "one"
                raise _problem(f"{plan.label} was scanned twice; scan each {noun} once.")
            seen.add((plan.part, plan.number))


def check_scan(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    scanned: ConsumptionInput,
    now: dt.datetime,
) -> PlannedConsumption:
    """What one scanned component would consume at the item's current operation, checked as
    :func:`plan_consumptions` checks it at completion (one serial of several counts as one);
    writes nothing. Invalid or NotFound when it may not be used."""
    item = find_item(session, item_number)
    plant = runtime.plants(session, item.config_version_id)
    if item.current_operation is None:
        raise Invalid(f"{item.label} has no operation to consume components at.")
    operation = operation_of(plant, item, item.current_operation)[1]
    line = next((c for c in operation.consume if c.part == scanned.part), None)
    if line is None:
        consumed = [c.part for c in operation.consume]
        hint = did_you_mean(scanned.part, consumed)
        raise _problem(
            f"'{operation.id}' does not consume {scanned.part}"
            + (f"; {hint}" if hint else f"; it consumes {', '.join(consumed) or 'nothing'}")
        )
    part = plant.parts.get(line.part)
    if part is not None and part.tracking == "serial":  # one serial of several counts as one
        line = dataclasses.replace(line, quantity=1.0, tolerance=None)
        scanned = dataclasses.replace(scanned, quantity=1.0)
        item = dataclasses.replace(item, quantity=1.0)
    (planned,) = plan_consumptions(
        session,
        plant=plant,
        operation=dataclasses.replace(operation, consume=(line,)),
        item=item,
        inputs=[scanned],
        today=site_today(plant, now),
    )
    return planned


def _lots_of(sql: Sql, numbers: Sequence[str]) -> dict[str, list[_LotRow]]:
    """The lots (of any part) numbered as scanned, in one read, by number."""
    distinct = sorted(set(numbers))
    if not distinct:
        return {}
    statement = _lots_numbered.get(len(distinct))
    if statement is None:
        wanted = [bindparam(f"number_{i}", type_=String()) for i in range(len(distinct))]
        statement = Statement(_LOT_COLUMNS.where(_lots.c.number.in_(wanted)))
        _lots_numbered[len(distinct)] = statement
    found: dict[str, list[_LotRow]] = {}
    for row in sql.all(statement, {f"number_{i}": n for i, n in enumerate(distinct)}):
        lot = _LotRow(*row)
        found.setdefault(lot.number, []).append(lot)
    return found


def _plan_lot(
    sql: Sql,
    lots: Sequence[_LotRow],
    *,
    plant: Plant,
    line: ConsumeLine,
    scanned: ConsumptionInput,
    quantity: float,
    today: dt.date,
    work_order_id: int,
) -> PlannedConsumption:
    """Check one scanned lot (``lots``: the lots with its number, of any part) for an item of
    work order ``work_order_id``."""
    lot = next((row for row in lots if row.part == line.part), None)
    if lot is None:
        if lots:
            raise _problem(
                f"Lot '{scanned.lot}' is a lot of {lots[0].part}, not {line.part}; "
                f"scan a lot of {line.part}."
            )
        raise NotFound(
            f"There is no lot '{scanned.lot}' of part '{line.part}'; check the label, or "
            "receive the lot first."
        )
    serial = plant.parts[line.part].tracking == "serial" if line.part in plant.parts else False
    plan = PlannedConsumption(
        part=line.part,
        number=scanned.lot,
        quantity=_in_lot_unit(quantity, line, lot.unit),
        unit=lot.unit,
        lot_id=lot.id,
        serial=serial,
        reserved=lot.reserved > EPSILON,
    )
    _usable(sql, lot, plan, today)
    if plan.reserved:
        check_reserved(
            sql, lot_id=lot.id, label=plan.label, left=lot.quantity, taken=plan.quantity,
            unit=lot.unit, work_order_id=work_order_id,
        )  # fmt: skip
    check_fefo(
        sql, plant, part=line.part, number=lot.number, expires_on=lot.expires_on, today=today,
        work_order_id=work_order_id,
    )  # fmt: skip
    return plan


def _usable(sql: Sql, lot: _LotRow, plan: PlannedConsumption, today: dt.date | None) -> None:
    """Invalid when ``lot`` (as read now) cannot give what ``plan`` takes (expiry is checked
    when ``today`` is given)."""
    name = plan.label
    if lot.status == CONSUMED:
        if plan.serial:
            raise _problem(
                f"{name} was already used in {_used_in(sql, lot.id)}; scan another serial."
            )
        raise _problem(f"{name} is used up; scan another lot.")
    if lot.status == "scrapped":
        raise _problem(f"{name} was scrapped; scan another lot.")
    if lot.status == "on_hold":
        raise _problem(
            f"{name} is on hold (reason: {lot.hold_reason or 'not given'}); use another lot, "
            "or ask quality to release it."
        )
    if lot.status == QUARANTINE:
        raise _problem(
            f"{name} is in quarantine: quality has not released it yet; use a released lot."
        )
    due = lot.expires_on
    if due is not None and (lot.status == EXPIRED or (today is not None and today >= due)):
        raise _problem(f"{name} expired on {due.isoformat()}; use another lot.")
    if lot.status != AVAILABLE:  # any other status, now or added later: never consumed
        raise _problem(f"{name} is {lot.status.replace('_', ' ')}; use an available lot.")
    if lot.quantity + EPSILON < plan.quantity:
        raise _problem(
            f"{name} has only {format_number(lot.quantity)} {lot.unit} left, "
            f"{format_number(plan.quantity)} {lot.unit} needed; use another lot for the rest."
        )


_USED_IN = Statement(
    select(_items.c.number)
    .select_from(_links.join(_items, _items.c.id == _links.c.item_id))
    .where(_links.c.lot_id == bindparam("lot_id"))
    .limit(1)
)
_MADE_ITEM = Statement(
    select(_items.c.id, _items.c.product, _items.c.status).where(
        _items.c.number == bindparam("number")
    )
)
_BUILT_INTO = Statement(
    select(_items.c.number)
    .select_from(_links.join(_items, _items.c.id == _links.c.item_id))
    .where(_links.c.component_item_id == bindparam("component_id"))
)


def _used_in(sql: Sql, lot_id: int) -> str:
    number = sql.scalar(_USED_IN, {"lot_id": lot_id})
    return str(number) if number else "another item"


def _plan_component(
    sql: Sql, line: ConsumeLine, scanned: ConsumptionInput, quantity: float, item: ItemRow
) -> PlannedConsumption | None:
    """A made item of the part's product; None when no item has that number (a bought one)."""
    found = sql.first(_MADE_ITEM, {"number": scanned.lot})
    if found is None:
        return None
    row = _MadeItem(*found)
    if row.product != line.part:
        raise _problem(
            f"'{scanned.lot}' is a {row.product}, not a {line.part}; scan a {line.part}."
        )
    if row.id == item.id:
        raise _problem(f"{item.label} cannot consume itself.")
    if row.status != "completed":
        raise _problem(
            f"{line.part} '{scanned.lot}' is {row.status.replace('_', ' ')}, not completed; "
            "finish it before it is built in."
        )
    used = sql.scalar(_BUILT_INTO, {"component_id": row.id})
    if used is not None:
        raise _problem(f"{line.part} '{scanned.lot}' was already used in {used}; scan another one.")
    return PlannedConsumption(
        part=line.part,
        number=scanned.lot,
        quantity=quantity,
        unit=line.unit,
        component_item_id=row.id,
    )


def apply_consumptions(
    sql: Sql,
    planned: Sequence[PlannedConsumption],
    item: ItemRow,
    operation: str,
    actor: str,
) -> list[audit.Change]:
    """Take the quantities from the lots, each in one statement and in lot order (two
    completions drawing on the same lots never deadlock); the audit changes. A lot that changed
    since it was checked is checked again, and its problem raised."""
    changes: list[audit.Change] = []
    reason = f"consumed by {item.number} at '{operation}'"
    for plan in planned:
        if plan.lot_id is None:
            changes.append(
                audit.Change(actor, "consume", "item", plan.number, None, {"into": item.number})
            )
    from_lots = sorted(
        ((p.lot_id, p) for p in planned if p.lot_id is not None), key=lambda pair: pair[0]
    )
    for lot_id, plan in from_lots:
        taken = take(sql, lot_id, plan.quantity)
        if taken is None:
            current = sql.first(_LOT, {"lot_id": lot_id})
            if current is not None:
                _usable(sql, _LotRow(*current), plan, None)
            raise Conflict(
                f"{plan.label} was changed by someone else a moment ago; try again.",
                code="stale_revision",
            )
        left, status = taken
        old = {"quantity": round(left + plan.quantity, 9), "status": "available"}
        new = {"quantity": left, "status": status}
        changes.append(audit.Change(actor, "consume", "lot", lot_id, old, new, reason))
        if plan.reserved:
            changes += draw_down(
                sql, lot_id=lot_id, taken=plan.quantity, work_order_id=item.work_order_id,
                actor=actor, reason=reason,
            )  # fmt: skip
    return changes


def insert_links(
    sql: Sql,
    planned: Sequence[PlannedConsumption],
    item: ItemRow,
    run_id: int,
    version_id: int,
) -> None:
    """The genealogy links from the item to what it consumed."""
    sql.executemany(
        _INSERT_LINKS,
        [
            {
                "item_id": item.id,
                "run_id": run_id,
                "part": p.part,
                "lot_id": p.lot_id,
                "component_item_id": p.component_item_id,
                "quantity": p.quantity,
                "unit": p.unit,
                "config_version_id": version_id,
            }
            for p in planned
        ],
    )
