"""Kitting: reserve lots for a work order's bill of materials and show what is short.

A work order needs, of each BOM line of its product, the line's quantity per product unit times
the order's quantity. Reserving picks available, unexpired lots first-expiry-first-out, taking
only what other kits have not reserved; what cannot be covered is the shortage, shown before the
order is released. Reservations are given back with :func:`unreserve`.

A reservation binds consumption: what other work orders keep of a lot cannot be consumed for
this one (:func:`check_reserved`, named in the refusal), consuming for the order draws its own
reservation down (:func:`draw_down`), and first-expiry-first-out proposes only lots with
something not kept for another order (:func:`kept_for_others`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.orm import Session

from dsl.model import BomLine, Plant
from dsl.units import format_number
from engine.access.people import require_role
from engine.commands.materials import AVAILABLE, EPSILON
from engine.commands.versions import plant_for_version
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.environment import site_today
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, Statement
from engine.records.production import WorkOrder, table
from engine.records.tables import Lot, LotReservation

KIT_ROLES = ("stores", "supervisor")
KITTABLE = ("created", "released")  # work-order statuses a kit may still change in
NO_ORDER = 0  # the work-order id given when nothing is consumed for an order (no id is 0)

_reservations = table(LotReservation)
_orders = table(WorkOrder)
_ON_LOT = Statement(
    select(_reservations.c.id, _orders.c.id, _reservations.c.work_order, _reservations.c.quantity)
    .select_from(_reservations.outerjoin(_orders, _orders.c.number == _reservations.c.work_order))
    .where(_reservations.c.lot_id == bindparam("lot_id"), _reservations.c.active.is_(True))
    .order_by(_reservations.c.id)
)
_DRAW_DOWN = Statement(
    update(_reservations)
    .where(_reservations.c.id == bindparam("reservation_id"))
    .values(quantity=bindparam("quantity"), active=bindparam("active"))
)


@dataclass(frozen=True, slots=True)
class KitLot(Jsonable):
    """A lot reserved for a kit."""

    number: str
    quantity: float
    expires_on: dt.date | None
    location: str


@dataclass(frozen=True, slots=True)
class KitLine(Jsonable):
    """One BOM line of a kit: what the order needs, what is reserved, what else is in stock and
    free, and what is short (needed, not reserved, not in stock)."""

    part: str
    unit: str
    needed: float
    reserved: float
    free: float
    short: float
    lots: tuple[KitLot, ...]


@dataclass(frozen=True, slots=True)
class Kit(Jsonable):
    """A work order's kit: ``complete`` when every line is fully reserved, ``short`` when stock
    cannot cover some line."""

    work_order: str
    product: str
    quantity: float
    status: str
    lines: tuple[KitLine, ...]
    complete: bool
    short: bool


def _order(session: Session, number: str) -> WorkOrder:
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    if order is None:
        raise NotFound(f"There is no work order '{number}'; check the number.")
    return order


def order_id(session: Session, number: str) -> int:
    """The id of work order ``number``; NotFound when there is none."""
    return _order(session, number).id


def _reserved_by_lot(session: Session, part: str) -> dict[int, float]:
    """What active reservations hold of each lot of ``part``."""
    rows = session.execute(
        select(LotReservation.lot_id, func.sum(LotReservation.quantity))
        .join(Lot, Lot.id == LotReservation.lot_id)
        .where(LotReservation.active.is_(True), Lot.part == part)
        .group_by(LotReservation.lot_id)
    )
    return {lot_id: float(total) for lot_id, total in rows}


def _usable_lots(session: Session, part: str, today: dt.date) -> list[Lot]:
    """Available, unexpired lots of ``part`` with something left, first to expire first."""
    lots = session.scalars(
        select(Lot).where(Lot.part == part, Lot.status == AVAILABLE, Lot.quantity > EPSILON)
    ).all()
    usable = [lot for lot in lots if lot.expires_on is None or lot.expires_on > today]
    return sorted(usable, key=lambda lot: (lot.expires_on is None, lot.expires_on, lot.id))


def _line(session: Session, order: WorkOrder, bom: BomLine, today: dt.date) -> KitLine:
    needed = round(bom.quantity * order.quantity, 9)
    mine = session.execute(
        select(Lot, LotReservation.quantity)
        .join(Lot, Lot.id == LotReservation.lot_id)
        .where(
            LotReservation.work_order == order.number,
            LotReservation.active.is_(True),
            Lot.part == bom.part,
        )
        .order_by(LotReservation.id)
    )
    lots = [
        KitLot(lot.number, min(quantity, lot.quantity), lot.expires_on, lot.location)
        for lot, quantity in mine
    ]
    reserved = round(sum(lot.quantity for lot in lots), 9)
    held = _reserved_by_lot(session, bom.part)
    free = sum(
        max(lot.quantity - held.get(lot.id, 0.0), 0.0)
        for lot in _usable_lots(session, bom.part, today)
    )
    short = max(needed - reserved - free, 0.0)
    return KitLine(
        bom.part, bom.unit, needed, reserved, round(free, 9), round(short, 9), tuple(lots)
    )


def _kit(session: Session, plant: Plant, order: WorkOrder, today: dt.date) -> Kit:
    lines = tuple(_line(session, order, bom, today) for bom in plant.products[order.product].bom)
    return Kit(
        work_order=order.number,
        product=order.product,
        quantity=order.quantity,
        status=order.status,
        lines=lines,
        complete=all(line.reserved + EPSILON >= line.needed for line in lines),
        short=any(line.short > EPSILON for line in lines),
    )


def kit(session: Session, number: str, *, now: dt.datetime) -> Kit:
    """The kit of work order ``number``: needed, reserved, free and short per BOM line."""
    order = _order(session, number)
    plant = plant_for_version(session, order.config_version_id)
    return _kit(session, plant, order, site_today(plant, now))


def reserve(session: Session, number: str, *, actor: str, now: dt.datetime) -> Kit:
    """Reserve, for every BOM line not yet covered, free stock first-expiry-first-out; the kit
    with what is still short."""
    require_role(session, actor, KIT_ROLES, "reserve a kit")
    order = _order(session, number)
    _kittable(order)
    plant = plant_for_version(session, order.config_version_id)
    today = site_today(plant, now)
    changes: list[audit.Change] = []
    for line in _kit(session, plant, order, today).lines:
        missing = line.needed - line.reserved
        held = _reserved_by_lot(session, line.part)
        for lot in _usable_lots(session, line.part, today):
            if missing <= EPSILON:
                break
            take = round(min(lot.quantity - held.get(lot.id, 0.0), missing), 9)
            if take <= EPSILON:
                continue
            reservation = LotReservation(
                work_order=order.number, lot_id=lot.id, quantity=take, active=True,
                reserved_at=now, reserved_by=actor,
            )  # fmt: skip
            session.add(reservation)
            session.flush()
            missing -= take
            new = {"work_order": order.number, "lot": lot.number, "quantity": take}
            changes.append(
                audit.Change(actor, "reserve", "lot_reservation", reservation.id, None, new)
            )
    audit.record_many(session, changes)
    return _kit(session, plant, order, today)


def unreserve(session: Session, number: str, *, actor: str, now: dt.datetime) -> Kit:
    """Give back every lot reserved for work order ``number``."""
    require_role(session, actor, KIT_ROLES, "give back a kit")
    order = _order(session, number)
    held = session.scalars(
        select(LotReservation).where(
            LotReservation.work_order == number, LotReservation.active.is_(True)
        )
    ).all()
    for reservation in held:
        reservation.active = False
    session.flush()
    audit.record_many(
        session,
        [
            audit.Change(
                actor, "unreserve", "lot_reservation", r.id, {"active": True}, {"active": False}
            )
            for r in held
        ],
    )
    plant = plant_for_version(session, order.config_version_id)
    return _kit(session, plant, order, site_today(plant, now))


# ---------------------------------------------------------------- reservations at consumption


class _Reservation(NamedTuple):
    id: int
    order_id: int | None
    work_order: str
    quantity: float


def _on_lot(sql: Sql, lot_id: int) -> list[_Reservation]:
    return [_Reservation(*row) for row in sql.all(_ON_LOT, {"lot_id": lot_id})]


def kept_for_others(
    lot_id: ColumnElement[int], work_order_id: ColumnElement[int]
) -> ColumnElement[float]:
    """What active reservations of other work orders than ``work_order_id`` keep of the lot
    ``lot_id`` (0 for none), as a correlated subquery for a statement over lots."""
    return (
        select(func.coalesce(func.sum(_reservations.c.quantity), 0.0))
        .select_from(_reservations.join(_orders, _orders.c.number == _reservations.c.work_order))
        .where(
            _reservations.c.lot_id == lot_id,
            _reservations.c.active.is_(True),
            _orders.c.id != work_order_id,
        )
        .scalar_subquery()
    )


def reserved_on(lot_id: ColumnElement[int]) -> ColumnElement[float]:
    """What active reservations of any work order keep of the lot ``lot_id`` (0 for none), as a
    correlated subquery: consumption looks closer only at a lot some kit keeps."""
    return (
        select(func.coalesce(func.sum(_reservations.c.quantity), 0.0))
        .where(_reservations.c.lot_id == lot_id, _reservations.c.active.is_(True))
        .scalar_subquery()
    )


def check_reserved(
    sql: Sql, *, lot_id: int, label: str, left: float, taken: float, unit: str, work_order_id: int
) -> None:
    """Invalid when taking ``taken`` from a lot holding ``left`` would eat into what kits of
    other work orders than ``work_order_id`` keep of it; the refusal names them."""
    others = [r for r in _on_lot(sql, lot_id) if r.order_id != work_order_id]
    kept = round(sum(r.quantity for r in others), 9)
    free = max(round(left - kept, 9), 0.0)
    if not others or taken <= free + EPSILON:
        return
    orders = list(dict.fromkeys(f"'{r.work_order}'" for r in others))
    noun = "work order" if len(orders) == 1 else "work orders"
    raise Invalid(
        f"{label} is reserved for {noun} {', '.join(orders)} ({format_number(kept)} of its "
        f"{format_number(left)} {unit}); {format_number(free)} {unit} are free, "
        f"{format_number(taken)} {unit} needed. Scan a lot kitted for this work order or a free "
        "one, or ask stores to give back that kit.",
        field="consume",
    )


def draw_down(
    sql: Sql, *, lot_id: int, taken: float, work_order_id: int, actor: str, reason: str
) -> list[audit.Change]:
    """Draw the reservations of ``work_order_id`` on a lot down by what it consumed, oldest
    first; one used up is closed (inactive, keeping the quantity it had). The audit changes."""
    changes: list[audit.Change] = []
    rest = taken
    for reservation in _on_lot(sql, lot_id):
        if rest <= EPSILON:
            break
        if reservation.order_id != work_order_id:
            continue
        drawn = min(reservation.quantity, rest)
        rest = round(rest - drawn, 9)
        left = round(reservation.quantity - drawn, 9)
        closed = left <= EPSILON
        sql.execute(
            _DRAW_DOWN,
            {
                "reservation_id": reservation.id,
                "quantity": reservation.quantity if closed else left,
                "active": not closed,
            },
        )
        old = {"quantity": reservation.quantity, "active": True}
        new = {"quantity": reservation.quantity if closed else left, "active": not closed}
        changes.append(
            audit.Change(actor, "draw_down", "lot_reservation", reservation.id, old, new, reason)
        )
    return changes


def _kittable(order: WorkOrder) -> None:
    if order.status not in KITTABLE:
        raise Conflict(
            f"Work order '{order.number}' is {order.status.replace('_', ' ')}; only a created or "
            "released order is kitted."
        )
