"""Holding many units and lots at once: the impact list of a failed calibration, a recall.

Each item is held by :func:`engine.commands.quality.hold_item`, all in the caller's one
transaction (every hold or none), each with its hold event and audit row, and one audit row for
the bulk hold naming how many were held and why. An item a hold does not apply to (already on
hold, scrapped, or with an open nonconformance) is skipped and reported with the reason.

A recall of a supplier's lot (:func:`hold_recall`) holds the received lots themselves (by the
supplier's lot number or by id, with every lot split or merged from them) through
:func:`engine.commands.materials.hold_lot`, and everything made from them, which the caller
finds by forward genealogy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.people import require_role
from engine.commands.materials import hold_lot
from engine.commands.quality import HOLD_ROLES, hold_item
from engine.errors import Conflict, Invalid, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.production import Item
from engine.records.tables import Lot, LotLink

BULK_MAX = 2_000  # items one bulk hold may name (a few seconds of holds, within a web request)


@dataclass(frozen=True, slots=True)
class SkippedItem(Jsonable):
    """An item the bulk hold left as it was, and why."""

    number: str
    reason: str


@dataclass(frozen=True, slots=True)
class BulkHoldResult(Jsonable):
    """What a bulk hold did: the items now on hold, and those it skipped."""

    held: tuple[str, ...]
    skipped: tuple[SkippedItem, ...]
    remaining: int = 0  # items of an impact list beyond this hold's BULK_MAX, still to hold


def hold_items(
    session: Session,
    *,
    numbers: Sequence[str],
    actor: str,
    reason: str,
    now: dt.datetime,
    source: str = "",
) -> BulkHoldResult:
    """Hold every item in ``numbers`` (see the module docstring); ``source`` names where the list
    came from in the audit trail (``calibration #12``)."""
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
    if not wanted:
        raise Invalid("Name at least one unit or lot to hold.", field="items")
    if len(wanted) > BULK_MAX:
        raise Invalid(
            f"A bulk hold takes at most {BULK_MAX:,} units and lots; {len(wanted):,} were given. "
            "Split the list.",
            field="items",
        )
    require_role(session, actor, HOLD_ROLES, f"put {len(wanted):,} units and lots on hold")
    _need_reason(reason)
    _all_exist(session, wanted)
    held: list[str] = []
    skipped: list[SkippedItem] = []
    for number in wanted:
        try:
            hold_item(session, item_number=number, actor=actor, reason=reason, now=now)
        except Conflict as refused:
            if refused.code != Conflict.default_code:  # changed meanwhile: not a refusal
                raise
            skipped.append(SkippedItem(number, refused.message))
        else:
            held.append(number)
    new = {"held": len(held), "skipped": len(skipped), "source": source}
    audit.record(
        session, actor=actor, action="bulk_hold", entity="items", entity_id=source or "list",
        new=new, reason=reason.strip(),
    )  # fmt: skip
    return BulkHoldResult(tuple(held), tuple(skipped))


def _need_reason(reason: str) -> None:
    if not reason.strip():
        raise Invalid(
            "Give a reason to hold these units and lots; it goes into each record and the audit "
            "trail.",
            field="reason",
        )


# ---------------------------------------------------------------- recalls of supplier lots


@dataclass(frozen=True, slots=True)
class RecalledLot(Jsonable):
    """A material lot a recall held, or skipped (``reason`` says why)."""

    part: str
    number: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RecallHold(Jsonable):
    """What a recall held: the received lots (and those split or merged from them), and the
    units and lots made from them (``made.remaining``: beyond :data:`BULK_MAX`, still to hold
    by calling again)."""

    lots: tuple[RecalledLot, ...]
    skipped_lots: tuple[RecalledLot, ...]
    made: BulkHoldResult


def recalled_lots(session: Session, *, supplier_lot: str, lot_ids: Sequence[int]) -> list[Lot]:
    """The received lots with the supplier's lot number ``supplier_lot`` and those with an id
    in ``lot_ids``, then every lot split or merged from them, at any depth."""
    wanted = supplier_lot.strip()
    if not wanted and not lot_ids:
        raise Invalid("Name the supplier's lot number or the lots to recall.", field="supplier_lot")
    found = (
        list(session.scalars(select(Lot).where(Lot.supplier_lot == wanted).order_by(Lot.id)))
        if wanted
        else []
    )
    if wanted and not found:
        raise NotFound(
            f"No lot was received with the supplier's lot number '{wanted}'; check the number on "
            "the supplier's notice."
        )
    for lot_id in dict.fromkeys(lot_ids):
        lot = session.get(Lot, lot_id)
        if lot is None:
            raise NotFound(f"There is no lot {lot_id}; check the list. Nothing was held.")
        found.append(lot)
    ids = list(dict.fromkeys(lot.id for lot in found))
    frontier = ids
    while frontier:
        children = session.scalars(select(LotLink.child_id).where(LotLink.parent_id.in_(frontier)))
        frontier = [child for child in dict.fromkeys(children) if child not in ids]
        ids += frontier
    return [lot for lot in (session.get(Lot, lot_id) for lot_id in ids) if lot is not None]


def hold_recall(
    session: Session,
    *,
    lots: Sequence[Lot],
    made: Sequence[str],
    actor: str,
    reason: str,
    now: dt.datetime,
    source: str,
) -> RecallHold:
    """Hold the recalled ``lots`` (a lot that is not available is skipped with why) and the
    first :data:`BULK_MAX` of the units and lots ``made`` from them; ``source`` names the
    recall in the audit trail (``supplier lot S-1``)."""
    require_role(session, actor, HOLD_ROLES, "hold a recalled supplier lot")
    _need_reason(reason)
    held: list[RecalledLot] = []
    skipped: list[RecalledLot] = []
    for lot in lots:
        try:
            hold_lot(session, lot.part, lot.number, actor=actor, reason=reason.strip())
        except Conflict as refused:
            if refused.code != Conflict.default_code:  # changed meanwhile: not a refusal
                raise
            skipped.append(RecalledLot(lot.part, lot.number, refused.message))
        else:
            held.append(RecalledLot(lot.part, lot.number))
    wanted = list(dict.fromkeys(made))
    items = (
        hold_items(
            session, numbers=wanted[:BULK_MAX], actor=actor, reason=reason, now=now, source=source
        )
        if wanted
        else BulkHoldResult((), ())
    )
    new = {"lots_held": len(held), "lots_skipped": len(skipped), "source": source}
    audit.record(
        session, actor=actor, action="recall_hold", entity="lots", entity_id=source, new=new,
        reason=reason.strip(),
    )  # fmt: skip
    made_held = replace(items, remaining=max(0, len(wanted) - BULK_MAX))
    return RecallHold(tuple(held), tuple(skipped), made_held)


def _all_exist(session: Session, numbers: Sequence[str]) -> None:
    """NotFound naming the first numbers that are no unit or lot."""
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        found.update(session.scalars(select(Item.number).where(Item.number.in_(chunk))))
    missing = [n for n in numbers if n not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise NotFound(
            f"No unit or lot is numbered {shown}; check the list and hold again. Nothing was held."
        )
