"""The lot lifecycle under the site's config: goods-in receiving, release from quarantine, hold,
(partial) scrap, split and merge with genealogy links, moves between locations, expiry, FEFO.

A received lot starts in quarantine when its part says ``quarantine: true``, else available. The
site's ``inventory`` declares the locations a lot may be kept in, whether first-expiry-first-out
is proposed or enforced at consumption, and which status changes (``release``, ``hold``,
``scrap``) need an e-signature, bound to the lot (record type ``lot``). A certificate of analysis
is stored content-addressed (:mod:`engine.infra.attachments`), its SHA-256 kept on the
lot. The status transitions themselves live in :mod:`engine.commands.materials`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Integer, String, bindparam, case, or_, select
from sqlalchemy.orm import Session

from dsl.model import Plant, SignatureRequirement
from dsl.units import format_number, from_si, parse_unit, same_dimension, to_si
from engine.access import signatures
from engine.access.people import require_role
from engine.access.signatures import Signer
from engine.commands import materials
from engine.commands.kitting import NO_ORDER, kept_for_others
from engine.commands.materials import (
    AVAILABLE,
    CONSUMED,
    EPSILON,
    EXPIRED,
    EXPIRING,
    ON_HOLD,
    QUARANTINE,
    LotInfo,
    lot_info,
    lot_name,
    lot_row,
    need_reason,
)
from engine.commands.versions import require_active_version_id
from engine.errors import Conflict, Invalid, undeclared
from engine.floor.environment import site_today
from engine.infra import attachments, audit
from engine.infra.attachments import Upload
from engine.infra.limits import check_quantity
from engine.infra.statements import Sql, Statement
from engine.records.production import table
from engine.records.tables import NAME, Lot, LotLink

SIGNED_RECORD = "lot"  # what a lot's e-signatures are bound to
SPLITTABLE = (QUARANTINE, AVAILABLE, ON_HOLD)
STORES_ROLES = ("stores", "supervisor", "quality")  # who books material in, moves and splits it
StatusAction = Literal["release", "hold", "scrap"]
_DOING = {"release": "Releasing", "hold": "Holding", "scrap": "Scrapping"}  # for messages
_CERTIFICATE = "The certificate"  # how a refusal names a certificate of analysis

_lots = table(Lot)
_FIRST_TO_EXPIRE = Statement(
    select(_lots.c.number, _lots.c.expires_on)
    .where(
        _lots.c.part == bindparam("part", type_=String()),
        _lots.c.status == AVAILABLE,
        _lots.c.quantity - kept_for_others(_lots.c.id, bindparam("work_order_id", type_=Integer()))
        > EPSILON,
        or_(_lots.c.expires_on.is_(None), _lots.c.expires_on > bindparam("today")),
    )
    .order_by(case((_lots.c.expires_on.is_(None), 1), else_=0), _lots.c.expires_on, _lots.c.id)
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery booked in at goods-in. ``quantity`` is in ``unit`` (None: the part's unit);
    ``number`` is our lot number (None: the supplier's lot number)."""

    part: str
    supplier_lot: str
    quantity: float
    unit: str | None = None
    number: str | None = None
    supplier: str = ""
    manufactured_on: dt.date | None = None
    expires_on: dt.date | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class FefoLot:
    """The lot first-expiry-first-out proposes for a part (``expires_on`` None: never expires)."""

    number: str
    expires_on: dt.date | None


def check_certificate(certificate: Upload) -> None:
    """Invalid when the certificate is empty, too large or its file name too long."""
    attachments.check(certificate, what=_CERTIFICATE, field="certificate")


def _in_part_unit(receipt: Receipt, unit: str) -> float:
    """The received quantity in the part's unit."""
    given = receipt.unit.strip() if receipt.unit else unit
    quantity = check_quantity(receipt.quantity, "Received quantity", given)
    if given == unit:
        return quantity
    if parse_unit(given) is None or not same_dimension(given, unit):
        raise Invalid(
            f"Part '{receipt.part}' is counted in {unit}; {format_number(quantity)} {given} "
            f"cannot be converted. Enter the quantity in {unit}.",
            field="unit",
        )
    return round(from_si(to_si(quantity, given), unit), 9)


def _location(plant: Plant, wanted: str | None) -> str:
    """The location a lot goes to: ``wanted`` if the site declares it, else the first."""
    inventory = plant.site.inventory
    if inventory is None:
        if wanted:
            raise Invalid(
                f"Site '{plant.site.name}' declares no locations; leave the location empty or "
                "add 'inventory: {locations: [...]}' to site.yaml.",
                field="location",
            )
        return ""
    if not wanted:
        return inventory.locations[0]
    if wanted not in inventory.locations:
        raise undeclared("location", wanted, inventory.locations, field="location")
    return wanted


def receive(
    session: Session,
    plant: Plant,
    receipt: Receipt,
    *,
    actor: str,
    now: dt.datetime,
    certificate: Upload | None = None,
) -> LotInfo:
    """Book a delivery in: a new lot, in quarantine when its part asks for it, at its location,
    with its supplier, supplier lot, dates and certificate of analysis."""
    require_role(session, actor, STORES_ROLES, "receive a lot")
    if receipt.part not in plant.parts:
        raise undeclared("part", receipt.part, plant.parts, field="part")
    config = plant.parts[receipt.part]
    if not receipt.supplier_lot.strip():
        raise Invalid("Scan or type the supplier's lot number.", field="supplier_lot")
    today = site_today(plant, now)
    made = receipt.manufactured_on
    if made is not None and made > today:
        raise Invalid(
            f"The manufacture date {made.isoformat()} is after today ({today.isoformat()}); "
            "check the label.",
            field="manufactured_on",
        )
    expires = receipt.expires_on
    if expires is not None and made is not None and expires <= made:
        raise Invalid(
            f"The expiry date {expires.isoformat()} is not after the manufacture date "
            f"{made.isoformat()}; check the label.",
            field="expires_on",
        )
    if expires is not None and expires <= today:
        raise Invalid(
            f"The lot expired on {expires.isoformat()}; expired material is not booked in. "
            "Check the label, or reject the delivery.",
            field="expires_on",
        )
    quantity = _in_part_unit(receipt, config.unit)
    location = _location(plant, receipt.location)
    digest = (
        attachments.store(
            session, certificate, actor=actor, now=now, what=_CERTIFICATE, field="certificate"
        )
        if certificate
        else ""
    )
    return materials.receive_lot(
        session, plant, receipt.part, (receipt.number or receipt.supplier_lot).strip(), quantity,
        actor=actor, received_on=today, expires_on=expires, supplier=receipt.supplier.strip(),
        supplier_lot=receipt.supplier_lot.strip(), manufactured_on=made, location=location,
        certificate_sha256=digest, quarantine=config.quarantine,
    )  # fmt: skip


# ---------------------------------------------------------------- status, signed where asked


def signature_needed(plant: Plant, action: str) -> SignatureRequirement | None:
    """The e-signature the site asks for ``action`` on a lot, if any."""
    inventory = plant.site.inventory
    return inventory.signatures.get(action) if inventory is not None else None


def _sign(
    session: Session,
    plant: Plant,
    lot: LotInfo,
    *,
    action: str,
    signers: Sequence[Signer],
    now: dt.datetime,
) -> list[audit.Change]:
    """Match the signers to what the site asks for ``action`` and store their signatures over
    the lot as it is now; the audit changes."""
    requirement = signature_needed(plant, action)
    what = f"{_DOING[action]} lot '{lot.number}' of part '{lot.part}'"
    if requirement is None:
        _no_signature_asked(plant, action, bool(signers))
        return []
    signed = signatures.cover([requirement], signers, what)
    return signatures.store(
        session, signed, record_type=SIGNED_RECORD, record_id=lot.id,
        digest=signatures.content_hash(lot.to_json()), now=now,
        version_id=require_active_version_id(session),
    )  # fmt: skip


def _no_signature_asked(plant: Plant, action: str, signed: bool) -> None:
    if signed and signature_needed(plant, action) is None:
        raise Invalid(
            f"Site '{plant.site.name}' asks for no signature to {action} a lot; send none.",
            field="signatures",
        )


def check_status_change(
    session: Session, plant: Plant, action: str, *, part: str, number: str, reason: str
) -> None:
    """What is checked before signers are re-authenticated: the site asks for a signature, the
    lot exists, a reason is given (the command checks everything again in its transaction)."""
    _no_signature_asked(plant, action, signed=True)
    lot_row(session, part, number)
    need_reason(reason, action)


def change_status(
    session: Session,
    plant: Plant,
    action: StatusAction,
    part: str,
    number: str,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
    signers: Sequence[Signer] = (),
    quantity: float | None = None,
) -> LotInfo:
    """Release (from quarantine or hold), hold, or scrap (all, or ``quantity``) a lot, with the
    e-signature the site asks for that action."""
    expire_lot(session, plant, lot_row(session, part, number), now=now)
    if action == "release":
        info = materials.release_lot(
            session, part, number, actor=actor, reason=reason, today=site_today(plant, now)
        )
    elif action == "hold":
        info = materials.hold_lot(session, part, number, actor=actor, reason=reason)
    else:
        info = materials.scrap_lot(
            session, part, number, actor=actor, reason=reason, quantity=quantity
        )
    audit.record_many(session, _sign(session, plant, info, action=action, signers=signers, now=now))
    return info


# ---------------------------------------------------------------- expiry


def expire_lot(session: Session, plant: Plant, lot: Lot, *, now: dt.datetime) -> bool:
    """Mark one lot expired when its expiry date has come at the site; True if it was."""
    today = site_today(plant, now)
    if lot.status not in EXPIRING or lot.expires_on is None or today < lot.expires_on:
        return False
    materials.change_lot(
        session, lot, actor="system", action="expire", status=EXPIRED,
        reason=f"expiry date {lot.expires_on.isoformat()} reached",
    )  # fmt: skip
    return True


def expire_due(session: Session, plant: Plant, *, now: dt.datetime) -> list[LotInfo]:
    """Mark every lot whose expiry date has come expired (each with an audit row); those lots."""
    today = site_today(plant, now)
    due = session.scalars(
        select(Lot)
        .where(Lot.status.in_(EXPIRING), Lot.expires_on.is_not(None), Lot.expires_on <= today)
        .order_by(Lot.id)
    ).all()
    return [lot_info(lot) for lot in due if expire_lot(session, plant, lot, now=now)]


# ---------------------------------------------------------------- locations, split, merge


def move(
    session: Session,
    plant: Plant,
    part: str,
    number: str,
    location: str,
    *,
    actor: str,
    reason: str = "",
) -> LotInfo:
    """Move what is left of a lot to another declared location."""
    require_role(session, actor, STORES_ROLES, "move a lot")
    lot = lot_row(session, part, number)
    target = _location(plant, location or None)
    if not location:
        raise Invalid("Choose the location to move the lot to.", field="location")
    if lot.status in (CONSUMED, materials.SCRAPPED):
        raise Conflict(f"{lot_name(lot)} is {materials.said(lot.status)}; nothing is left to move.")
    if lot.location == target:
        raise Invalid(f"{lot_name(lot)} is already at {target}.", field="location")
    return materials.change_lot(
        session, lot, actor=actor, action="move", status=lot.status, reason=reason,
        location=target,
    )  # fmt: skip


def _link(
    session: Session, parent: Lot, child: Lot, kind: str, quantity: float, *, actor: str,
    now: dt.datetime,
) -> None:  # fmt: skip
    session.add(
        LotLink(
            parent_id=parent.id, child_id=child.id, kind=kind, quantity=quantity, at=now,
            actor=actor,
        )
    )  # fmt: skip


def _new_lot(session: Session, like: Lot, number: str, quantity: float, **values: object) -> Lot:
    """A lot made from ``like`` (by a split or merge): its part, unit, status, dates, supplier,
    location and certificate, with its own number and quantity."""
    if not number.strip() or len(number) > NAME:
        raise Invalid(f"The new lot number must be 1 to {NAME} characters.", field="new_number")
    if session.scalar(select(Lot.id).where(Lot.part == like.part, Lot.number == number)):
        raise Conflict(f"Lot '{number}' of part '{like.part}' already exists; choose a new number.")
    fields = {
        "part": like.part, "number": number, "quantity": quantity, "received_quantity": quantity,
        "unit": like.unit, "status": like.status, "expires_on": like.expires_on,
        "supplier": like.supplier, "supplier_lot": like.supplier_lot,
        "manufactured_on": like.manufactured_on, "location": like.location,
        "certificate_sha256": like.certificate_sha256, "hold_reason": like.hold_reason,
        "received_by": values.pop("actor"), "received_at": values.pop("now"), "revision": 1,
    }  # fmt: skip
    lot = Lot(**{**fields, **values})
    session.add(lot)
    session.flush()
    return lot


def split(
    session: Session,
    plant: Plant,
    part: str,
    number: str,
    quantity: float,
    *,
    new_number: str,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> LotInfo:
    """Take ``quantity`` of a lot into a new lot ``new_number`` (same part, status, dates and
    supplier), linked to it as a split; the new lot."""
    require_role(session, actor, STORES_ROLES, "split a lot")
    lot = lot_row(session, part, number)
    need_reason(reason, "split")
    expire_lot(session, plant, lot, now=now)
    if lot.status not in SPLITTABLE:
        raise Conflict(f"{lot_name(lot)} is {materials.said(lot.status)} and cannot be split.")
    check_quantity(quantity, "The quantity to split off", lot.unit)
    if quantity + EPSILON >= lot.quantity:
        raise Invalid(
            f"{lot_name(lot)} holds {format_number(lot.quantity)} {lot.unit}; split off less "
            "than all of it (move the lot instead).",
            field="quantity",
        )
    child = _new_lot(session, lot, new_number.strip(), quantity, actor=actor, now=now)
    materials.change_lot(
        session, lot, actor=actor, action="split", status=lot.status, reason=reason,
        quantity=round(lot.quantity - quantity, 9),
    )  # fmt: skip
    _link(session, lot, child, "split", quantity, actor=actor, now=now)
    info = lot_info(child)
    audit.record(
        session, actor=actor, action="split", entity="lot", entity_id=child.id,
        new={**info.to_json(), "from": lot.number}, reason=reason,
    )  # fmt: skip
    return info


def merge(
    session: Session,
    plant: Plant,
    part: str,
    numbers: Sequence[str],
    *,
    new_number: str,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> LotInfo:
    """Merge lots of one part, all in the same status, into a new lot ``new_number`` that
    expires when the first of them does; the merged lots are used up, each linked to it."""
    require_role(session, actor, STORES_ROLES, "merge lots")
    need_reason(reason, "merge")
    if len(set(numbers)) < 2 or len(set(numbers)) != len(numbers):
        raise Invalid("Scan at least two different lots to merge.", field="numbers")
    lots = [lot_row(session, part, number) for number in numbers]
    for lot in lots:
        expire_lot(session, plant, lot, now=now)
    first = lots[0]
    for lot in lots:
        if lot.status not in (AVAILABLE, QUARANTINE):
            raise Conflict(
                f"{lot_name(lot)} is {materials.said(lot.status)}; only available or "
                "quarantined lots are merged."
            )
        if lot.status != first.status:
            raise Conflict(
                f"{lot_name(first)} is {materials.said(first.status)} but {lot_name(lot)} is "
                f"{materials.said(lot.status)}; merge lots in the same status."
            )
    expiries = [lot.expires_on for lot in lots if lot.expires_on is not None]
    made = [lot.manufactured_on for lot in lots if lot.manufactured_on is not None]
    total = round(sum(lot.quantity for lot in lots), 9)
    merged = _new_lot(
        session, first, new_number.strip(), total, actor=actor, now=now,
        expires_on=min(expiries) if expiries else None,
        manufactured_on=min(made) if made else None,
    )  # fmt: skip
    for lot in lots:
        _link(session, lot, merged, "merge", lot.quantity, actor=actor, now=now)
        materials.change_lot(
            session, lot, actor=actor, action="merge", status=CONSUMED, reason=reason,
            quantity=0.0,
        )  # fmt: skip
    info = lot_info(merged)
    audit.record(
        session, actor=actor, action="merge", entity="lot", entity_id=merged.id,
        new={**info.to_json(), "from": list(numbers)}, reason=reason,
    )  # fmt: skip
    return info


def lot_links(session: Session, lot_id: int) -> list[tuple[str, str, str, float]]:
    """(direction, kind, other lot number, quantity) of every split or merge link of a lot:
    ``from`` a parent, ``into`` a child."""
    parents = session.execute(
        select(LotLink.kind, Lot.number, LotLink.quantity)
        .join(Lot, Lot.id == LotLink.parent_id)
        .where(LotLink.child_id == lot_id)
        .order_by(LotLink.id)
    ).all()
    children = session.execute(
        select(LotLink.kind, Lot.number, LotLink.quantity)
        .join(Lot, Lot.id == LotLink.child_id)
        .where(LotLink.parent_id == lot_id)
        .order_by(LotLink.id)
    ).all()
    return [("from", k, n, q) for k, n, q in parents] + [("into", k, n, q) for k, n, q in children]


# ---------------------------------------------------------------- first expiry, first out


def first_to_expire(
    source: Session | Sql, part: str, today: dt.date, work_order_id: int = NO_ORDER
) -> FefoLot | None:
    """The available, unexpired lot of ``part`` that expires first (lots that never expire come
    last) with something left that no kit of another work order than ``work_order_id`` keeps."""
    values = {"part": part, "today": today, "work_order_id": work_order_id}
    row = Sql.of(source).first(_FIRST_TO_EXPIRE, values)
    return None if row is None else FefoLot(str(row[0]), row[1])


def check_fefo(
    source: Session | Sql,
    plant: Plant,
    *,
    part: str,
    number: str,
    expires_on: dt.date | None,
    today: dt.date,
    work_order_id: int = NO_ORDER,
) -> None:
    """Under strict FEFO, Invalid when another lot of ``part`` that is not kept for another work
    order than ``work_order_id`` expires before lot ``number``."""
    inventory = plant.site.inventory
    if inventory is None or inventory.fefo != "strict":
        return
    first = first_to_expire(source, part, today, work_order_id)
    if first is None or first.number == number or first.expires_on is None:
        return
    if expires_on is not None and expires_on <= first.expires_on:
        return
    when = f"expires on {expires_on.isoformat()}" if expires_on else "does not expire"
    raise Invalid(
        f"First expiry, first out: lot '{first.number}' of {part} expires on "
        f"{first.expires_on.isoformat()}, before lot '{number}' ({when}); consume lot "
        f"'{first.number}' first.",
        field="consume",
    )
