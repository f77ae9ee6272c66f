"""Material lots: receive, hold, release, scrap, consume.

A lot is a received quantity of a part with a number (the supplier's or ours), an expiry taken
from the part's shelf life, and a status: ``quarantine`` (received, waiting for quality's
release), ``available`` (released), ``on_hold``, ``consumed`` (nothing left), ``expired`` or
``scrapped``. A purchased serialized component is a lot of quantity 1 whose number is its
serial. Every change writes an audit row and is guarded by the lot's revision; a quantity is
taken in one statement (:func:`take`), so two completions drawing on one lot both land.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Float, Numeric, bindparam, case, cast, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dsl.model import Plant
from engine.access.people import require_role
from engine.errors import Conflict, Invalid, NotFound, undeclared
from engine.infra import audit
from engine.infra.db import CONCURRENT_CHANGE
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_quantity
from engine.infra.statements import Sql, Statement
from engine.records.base import utcnow
from engine.records.production import table
from engine.records.tables import NAME, Lot

HOLD_ROLES = ("supervisor", "quality")
QUARANTINE_ROLES = ("quality",)  # who releases a lot from quarantine
AVAILABLE, ON_HOLD, CONSUMED, SCRAPPED = "available", "on_hold", "consumed", "scrapped"
QUARANTINE, EXPIRED = "quarantine", "expired"
EXPIRING = (QUARANTINE, AVAILABLE, ON_HOLD)  # the statuses a lot leaves when it expires
EPSILON = 1e-9  # what is left below this much is nothing
_PRECISION = 9  # decimal places kept when quantities are subtracted
_lots = table(Lot)
_taken = bindparam("taken", type_=Float())
_left = func.round(cast(_lots.c.quantity - _taken, Numeric), _PRECISION)
_TAKE = Statement(
    update(_lots)
    .where(
        _lots.c.id == bindparam("lot_id"),
        _lots.c.status == AVAILABLE,
        _lots.c.quantity + EPSILON >= _taken,
    )
    .values(
        quantity=case((_left <= EPSILON, 0.0), else_=_left),
        status=case((_left <= EPSILON, CONSUMED), else_=AVAILABLE),
        revision=_lots.c.revision + 1,
    )
    .returning(_lots.c.quantity, _lots.c.status)
)


@dataclass(frozen=True, slots=True)
class LotInfo(Jsonable):
    """A lot as shown to people and returned by commands."""

    id: int
    part: str
    number: str
    quantity: float
    received_quantity: float
    unit: str
    status: str
    expires_on: dt.date | None
    supplier: str
    hold_reason: str
    supplier_lot: str = ""
    manufactured_on: dt.date | None = None
    location: str = ""
    certificate_sha256: str = ""

    def expired_on(self, day: dt.date) -> bool:
        """True when the lot may no longer be used on ``day`` (it expires at the start of it)."""
        return self.expires_on is not None and day >= self.expires_on


def receive_lot(
    session: Session,
    plant: Plant,
    part: str,
    number: str,
    quantity: float,
    *,
    actor: str,
    received_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    supplier: str = "",
    supplier_lot: str = "",
    manufactured_on: dt.date | None = None,
    location: str = "",
    certificate_sha256: str = "",
    quarantine: bool = False,
) -> LotInfo:
    """Receive ``quantity`` (in the part's unit) of ``part`` as lot ``number``, available, or in
    quarantine with ``quarantine``.

    Without ``expires_on``, a part with a shelf life expires ``shelf_life`` days after it was
    made (``manufactured_on``) or else ``received_on`` (default today).
    """
    if part not in plant.parts:
        raise undeclared("part", part, plant.parts, field="part")
    config = plant.parts[part]
    if not number.strip() or len(number) > NAME:
        raise Invalid(
            f"The lot number must be 1 to {NAME} characters; scan or type the label's number.",
            field="number",
        )
    check_quantity(quantity, "Received quantity", config.unit)
    if config.tracking == "serial" and quantity != 1:
        raise Invalid(
            f"Part '{part}' is serialized: receive each serial number as its own lot of "
            f"quantity 1, not {quantity:g}.",
            field="quantity",
        )
    if session.scalar(select(Lot.id).where(Lot.part == part, Lot.number == number)) is not None:
        raise Conflict(
            f"Lot '{number}' of part '{part}' was already received; give this delivery its own "
            "lot number."
        )
    received_on = received_on or utcnow().date()
    if expires_on is None and config.shelf_life_days is not None:
        made = manufactured_on or received_on
        expires_on = made + dt.timedelta(days=config.shelf_life_days)
    lot = Lot(
        part=part,
        number=number,
        quantity=quantity,
        received_quantity=quantity,
        unit=config.unit,
        status=QUARANTINE if quarantine else AVAILABLE,
        expires_on=expires_on,
        supplier=supplier,
        supplier_lot=supplier_lot,
        manufactured_on=manufactured_on,
        location=location,
        certificate_sha256=certificate_sha256,
        hold_reason="",
        received_at=utcnow(),
        received_by=actor,
        revision=1,
    )
    session.add(lot)
    session.flush()
    info = lot_info(lot)
    audit.record(
        session,
        actor=actor,
        action="receive",
        entity="lot",
        entity_id=lot.id,
        new=info.to_json(),
    )
    return info


def find_lot(session: Session, part: str, number: str) -> LotInfo:
    """The lot ``number`` of ``part``."""
    return lot_info(lot_row(session, part, number))


def lots_of(session: Session, part: str | None = None) -> list[LotInfo]:
    """Every lot (of one part when given), oldest first."""
    query = select(Lot).order_by(Lot.id)
    if part is not None:
        query = query.where(Lot.part == part)
    return [lot_info(lot) for lot in session.scalars(query)]


def hold_lot(session: Session, part: str, number: str, *, actor: str, reason: str) -> LotInfo:
    """Put an available lot on hold (supervisor or quality; a reason is required)."""
    require_role(session, actor, HOLD_ROLES, "hold a lot")
    lot = lot_row(session, part, number)
    need_reason(reason, "hold")
    if lot.status != AVAILABLE:
        raise Conflict(
            f"{lot_name(lot)} is {said(lot.status)}; only an available lot can be put on hold."
        )
    return change_lot(
        session, lot, actor=actor, action="hold", status=ON_HOLD, reason=reason, hold_reason=reason
    )


def release_lot(
    session: Session,
    part: str,
    number: str,
    *,
    actor: str,
    reason: str,
    today: dt.date | None = None,
) -> LotInfo:
    """Release a lot from hold (supervisor or quality) or from quarantine (quality); a reason
    is required, and a lot expired by ``today`` is never released."""
    lot = lot_row(session, part, number)
    if lot.status == QUARANTINE:
        require_role(session, actor, QUARANTINE_ROLES, "release a lot from quarantine")
    else:
        require_role(session, actor, HOLD_ROLES, "release a lot")
    need_reason(reason, "release")
    if lot.status not in (ON_HOLD, QUARANTINE):
        raise Conflict(
            f"{lot_name(lot)} is {said(lot.status)}, not on hold or in quarantine; there is "
            "nothing to release."
        )
    if today is not None and lot.expires_on is not None and today >= lot.expires_on:
        raise Conflict(
            f"{lot_name(lot)} expired on {lot.expires_on.isoformat()} and cannot be released; "
            "scrap it."
        )
    status = AVAILABLE if lot.quantity > 0 else CONSUMED
    return change_lot(
        session, lot, actor=actor, action="release", status=status, reason=reason, hold_reason=""
    )


def scrap_lot(
    session: Session,
    part: str,
    number: str,
    *,
    actor: str,
    reason: str,
    quantity: float | None = None,
) -> LotInfo:
    """Scrap what is left of a lot, or only ``quantity`` of it (supervisor or quality; a reason
    is required). A lot scrapped whole keeps its last quantity, to show what was scrapped."""
    require_role(session, actor, HOLD_ROLES, "scrap a lot")
    lot = lot_row(session, part, number)
    need_reason(reason, "scrap")
    if lot.status in (CONSUMED, SCRAPPED):
        raise Conflict(f"{lot_name(lot)} is already {said(lot.status)}; nothing is left to scrap.")
    if quantity is not None:
        check_quantity(quantity, "The quantity to scrap", lot.unit)
        if quantity > lot.quantity + EPSILON:
            raise Conflict(
                f"{lot_name(lot)} has only {lot.quantity:g} {lot.unit} left; it cannot lose "
                f"{quantity:g} {lot.unit}."
            )
        if lot.quantity - quantity > EPSILON:
            return change_lot(
                session, lot, actor=actor, action="scrap", status=lot.status, reason=reason,
                quantity=round(lot.quantity - quantity, _PRECISION),
            )  # fmt: skip
    return change_lot(session, lot, actor=actor, action="scrap", status=SCRAPPED, reason=reason)


def consume(
    session: Session, lot_id: int, quantity: float, *, actor: str, reason: str = ""
) -> LotInfo:
    """Take ``quantity`` from an available lot; at zero it becomes ``consumed``.

    The caller checks the lot is the right part and not expired (the BOM check); this refuses
    only what can never be right: a lot that is not available, or more than is left.
    """
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"There is no lot with id {lot_id}; scan the lot label again.")
    if lot.status != AVAILABLE:
        raise Conflict(
            f"{lot_name(lot)} is {said(lot.status)} and cannot be consumed; use an available lot."
        )
    check_quantity(quantity, "The quantity to consume", lot.unit)
    if lot.quantity + EPSILON < quantity:
        raise Conflict(
            f"{lot_name(lot)} has only {lot.quantity:g} {lot.unit} left, "
            f"less than the {quantity:g} {lot.unit} needed; use another lot for the rest."
        )
    old = {"quantity": lot.quantity, "status": lot.status}
    taken = take(Sql(session), lot.id, quantity)
    if taken is None:
        raise _changed(lot_name(lot))
    session.expire(lot)
    new = {"quantity": taken[0], "status": taken[1]}
    audit.record(
        session,
        actor=actor,
        action="consume",
        entity="lot",
        entity_id=lot.id,
        old=old,
        new=new,
        reason=reason,
    )
    return lot_info(lot)


def take(sql: Sql, lot_id: int, quantity: float) -> tuple[float, str] | None:
    """Take ``quantity`` from an available lot that holds at least that much, in one statement
    (no read-modify-write: two takes at once both land, or the second finds too little); what is
    left and the lot's status, or None when the lot is no longer available or holds less."""
    row = sql.first(_TAKE, {"lot_id": lot_id, "taken": quantity})
    return None if row is None else (float(row[0]), str(row[1]))


def change_lot(
    session: Session,
    lot: Lot,
    *,
    actor: str,
    action: str,
    status: str,
    reason: str,
    hold_reason: str | None = None,
    quantity: float | None = None,
    location: str | None = None,
) -> LotInfo:
    """Set a lot's status (and hold reason, quantity or location when given), guarded by its
    revision, with an audit row of what changed."""
    old: dict[str, object] = {"status": lot.status, "hold_reason": lot.hold_reason}
    if quantity is not None:
        old["quantity"] = lot.quantity
        lot.quantity = quantity
    if location is not None:
        old["location"] = lot.location
        lot.location = location
    name = lot_name(lot)  # a failed flush expires the lot
    lot.status = status
    if hold_reason is not None:
        lot.hold_reason = hold_reason
    try:
        session.flush()  # UPDATE … WHERE revision = the one read (version_id_col)
    except StaleDataError:
        raise _changed(name) from None
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="lot",
        entity_id=lot.id,
        old=old,
        new={key: getattr(lot, key) for key in old},
        reason=reason,
    )
    return lot_info(lot)


def lot_row(session: Session, part: str, number: str) -> Lot:
    """The lot ``number`` of ``part`` as a row to change; NotFound when there is none."""
    lot = session.scalar(select(Lot).where(Lot.part == part, Lot.number == number))
    if lot is None:
        raise NotFound(
            f"There is no lot '{number}' of part '{part}'; check the label, or receive the "
            "lot first."
        )
    return lot


def need_reason(reason: str, action: str) -> None:
    """Invalid when no reason is given for ``action``."""
    if not reason.strip():
        raise Invalid(
            f"Give a reason to {action} a lot; it goes into the audit trail.", field="reason"
        )


def lot_name(lot: Lot) -> str:
    """How messages name a lot."""
    return f"Lot '{lot.number}' of part '{lot.part}'"


def _changed(name: str) -> Conflict:
    return Conflict(
        f"{name} was changed by someone else a moment ago; reload and try again.",
        code=CONCURRENT_CHANGE,
    )


def said(status: str) -> str:
    """A status as words (``on hold``, ``in quarantine``)."""
    return "in quarantine" if status == QUARANTINE else status.replace("_", " ")


def lot_info(lot: Lot) -> LotInfo:
    """What commands return of a lot."""
    return LotInfo(
        id=lot.id,
        part=lot.part,
        number=lot.number,
        quantity=lot.quantity,
        received_quantity=lot.received_quantity,
        unit=lot.unit,
        status=lot.status,
        expires_on=lot.expires_on,
        supplier=lot.supplier,
        hold_reason=lot.hold_reason,
        supplier_lot=lot.supplier_lot,
        manufactured_on=lot.manufactured_on,
        location=lot.location,
        certificate_sha256=lot.certificate_sha256,
    )
