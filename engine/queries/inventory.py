"""Inventory: what is on hand per part, location and status, with the lots behind each figure.

A lot's status is shown as it is on the site's date: a lot whose expiry date has come is
``expired`` even before the expiry sweep (:func:`engine.commands.lots.expire_due`) has written
it, since it can no longer be consumed. Quantities reserved for work-order kits are shown next
to each lot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.infra.jsonable import Jsonable
from engine.records.tables import Lot, LotReservation

ON_HAND = ("quarantine", "available", "on_hold", "expired")  # statuses with stock to count
_EXPIRING = ("quarantine", "available", "on_hold")  # as engine.commands.materials.EXPIRING


@dataclass(frozen=True, slots=True)
class StockLot(Jsonable):
    """One lot behind an inventory figure."""

    number: str
    quantity: float
    reserved: float
    expires_on: dt.date | None
    supplier: str
    supplier_lot: str
    hold_reason: str


@dataclass(frozen=True, slots=True)
class StockRow(Jsonable):
    """The quantity of a part at one location in one status, and its lots (first to expire
    first)."""

    part: str
    location: str
    status: str
    quantity: float
    unit: str
    reserved: float
    lots: tuple[StockLot, ...]


def shown_status(status: str, expires_on: dt.date | None, today: dt.date) -> str:
    """A lot's status on ``today``: ``expired`` once its expiry date has come."""
    if status in _EXPIRING and expires_on is not None and today >= expires_on:
        return "expired"
    return status


def _expiry_order(lot: StockLot) -> tuple[bool, dt.date, str]:
    return (lot.expires_on is None, lot.expires_on or dt.date.max, lot.number)


def inventory(
    session: Session,
    *,
    today: dt.date,
    part: str | None = None,
    location: str | None = None,
    statuses: Sequence[str] = ON_HAND,
) -> list[StockRow]:
    """The stock of every part (or one), by location and status, lots included."""
    reserved = (
        select(LotReservation.lot_id, func.sum(LotReservation.quantity).label("reserved"))
        .where(LotReservation.active.is_(True))
        .group_by(LotReservation.lot_id)
        .subquery()
    )
    query = (
        select(Lot, func.coalesce(reserved.c.reserved, 0.0))
        .outerjoin(reserved, reserved.c.lot_id == Lot.id)
        .where(Lot.status.in_((*ON_HAND, *statuses)))
        .order_by(Lot.part, Lot.location, Lot.id)
    )
    if part is not None:
        query = query.where(Lot.part == part)
    if location is not None:
        query = query.where(Lot.location == location)
    groups: dict[tuple[str, str, str], list[StockLot]] = {}
    units: dict[str, str] = {}
    for lot, held in session.execute(query):
        status = shown_status(lot.status, lot.expires_on, today)
        if status not in statuses:
            continue
        units[lot.part] = lot.unit
        groups.setdefault((lot.part, lot.location, status), []).append(
            StockLot(
                number=lot.number,
                quantity=lot.quantity,
                reserved=min(float(held), lot.quantity),
                expires_on=lot.expires_on,
                supplier=lot.supplier,
                supplier_lot=lot.supplier_lot,
                hold_reason=lot.hold_reason,
            )
        )
    return [
        StockRow(
            part=key[0],
            location=key[1],
            status=key[2],
            quantity=round(sum(lot.quantity for lot in lots), 9),
            unit=units[key[0]],
            reserved=round(sum(lot.reserved for lot in lots), 9),
            lots=tuple(sorted(lots, key=_expiry_order)),
        )
        for key, lots in sorted(groups.items())
    ]
