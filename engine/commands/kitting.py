"""Kitting: reserve lots for a work order's bill of materials and show what is short.

A work order needs, of each BOM line of its product, the line's quantity per product unit times
the order's quantity. Reserving picks available, unexpired lots first-expiry-first-out, taking
only what other kits have not reserved; what cannot be covered is the shortage, shown before the
order is released. Reservations are given back with :func:`unreserve` (they hold nothing at the
station: consumption still draws the lot the operator scans).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import BomLine, Plant
from engine.access.people import require_role
from engine.commands.materials import AVAILABLE, EPSILON
from engine.commands.versions import plant_for_version
from engine.errors import Conflict, NotFound
from engine.floor.environment import site_today
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.production import WorkOrder
from engine.records.tables import Lot, LotReservation

KIT_ROLES = ("stores", "supervisor")
KITTABLE = ("created", "released")  # work-order statuses a kit may still change in


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


def _kittable(order: WorkOrder) -> None:
    if order.status not in KITTABLE:
        raise Conflict(
            f"Work order '{order.number}' is {order.status.replace('_', ' ')}; only a created or "
            "released order is kitted."
        )
