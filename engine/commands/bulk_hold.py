"""Holding many units and lots at once: the impact list of a failed calibration, a recall.

Each item is held by :func:`engine.commands.quality.hold_item`, all in the caller's one
transaction (every hold or none), each with its hold event and audit row, and one audit row for
the bulk hold naming how many were held and why. An item a hold does not apply to (already on
hold, scrapped, or with an open nonconformance) is skipped and reported with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.people import require_role
from engine.commands.quality import HOLD_ROLES, hold_item
from engine.errors import Conflict, Invalid, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.production import Item

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
    if not reason.strip():
        raise Invalid(
            "Give a reason to hold these units and lots; it goes into each record and the audit "
            "trail.",
            field="reason",
        )
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
