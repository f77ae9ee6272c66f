"""What was made on a machine in a time window: the impact list of a failed calibration.

Every unit and lot with an operation completed on the machine since its last passed calibration
(the start of that day at the site; since the first record when none passed) up to the moment
the failure was recorded. The list gives how many there are and one page of them, newest first;
:func:`impacted_numbers` gives every number still to hold.
Both read the index ``ix_operation_runs_equipment_completed`` (equipment, completed_at,
item_id) over the window only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from engine.errors import Invalid, NotFound
from engine.infra.jsonable import Jsonable
from engine.records.equipment_care import CalibrationRecord
from engine.records.production import Item, OperationRun, table

PAGE = 200  # items listed on one page of an impact list
PAGE_MAX = 1000
HOLDABLE = ("queued", "in_progress", "completed")  # statuses a hold applies to

_runs = table(OperationRun)
_items = table(Item)


@dataclass(frozen=True, slots=True)
class ImpactedItem(Jsonable):
    """A unit or lot made on the machine in the window, with its last operation there."""

    number: str
    product: str
    kind: str
    status: str
    last_run_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ImpactList(Jsonable):
    """What a failed calibration puts in doubt: how many units and lots were made on the machine
    in the window, and the newest of them (a page)."""

    equipment: str
    calibration_id: int
    since: dt.datetime | None
    until: dt.datetime
    total: int
    items: tuple[ImpactedItem, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """A machine and a time window (``since`` None: from its first record)."""

    equipment: str
    since: dt.datetime | None
    until: dt.datetime


def calibration_window(session: Session, calibration_id: int, zone: dt.tzinfo) -> Window:
    """The window a failed calibration puts in doubt (see the module docstring); Invalid for a
    calibration that passed."""
    failed = session.get(CalibrationRecord, calibration_id)
    if failed is None:
        raise NotFound(
            f"There is no calibration #{calibration_id}; check the number on the equipment page."
        )
    if failed.result != "fail":
        raise Invalid(
            f"Calibration #{calibration_id} of {failed.equipment} passed; only a failed "
            "calibration has an impact list.",
            field="calibration",
        )
    passed_on = session.scalar(
        select(func.max(CalibrationRecord.performed_on)).where(
            CalibrationRecord.equipment == failed.equipment,
            CalibrationRecord.result == "pass",
            CalibrationRecord.performed_on <= failed.performed_on,
            CalibrationRecord.id < failed.id,
        )
    )
    since = None
    if passed_on is not None:
        since = dt.datetime.combine(passed_on, dt.time.min, tzinfo=zone)
    return Window(failed.equipment, since, failed.recorded_at)


def _in_window(window: Window) -> list[Any]:
    where = [_runs.c.equipment == window.equipment, _runs.c.completed_at <= window.until]
    if window.since is not None:
        where.append(_runs.c.completed_at >= window.since)
    return where


def impact_list(
    session: Session, calibration_id: int, window: Window, *, limit: int = PAGE
) -> ImpactList:
    """How many items were made in ``window``, and the newest ``limit`` of them.

    The count reads the index alone; the page walks the window's runs newest first and stops
    once it has ``limit`` distinct items (an item reworked on the machine has several runs)."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(f"Ask for 1 to {PAGE_MAX} items at a time.", field="limit")
    where = _in_window(window)
    total = session.scalar(select(func.count(distinct(_runs.c.item_id))).where(*where)) or 0
    newest = (
        select(_items.c.number, _items.c.product, _items.c.kind, _items.c.status,
               _runs.c.completed_at)
        .select_from(_runs.join(_items, _items.c.id == _runs.c.item_id))
        .where(*where)
        .order_by(_runs.c.completed_at.desc(), _runs.c.id.desc())
    )  # fmt: skip
    page: dict[str, ImpactedItem] = {}
    fetch = limit
    while True:
        rows = session.execute(newest.limit(fetch)).all()
        for row in rows:
            page.setdefault(row.number, ImpactedItem(*row))
        if len(page) >= min(limit, total) or len(rows) < fetch:
            break
        fetch *= 2
    return ImpactList(
        equipment=window.equipment,
        calibration_id=calibration_id,
        since=window.since,
        until=window.until,
        total=total,
        items=tuple(page.values())[:limit],
    )


def impacted_numbers(session: Session, window: Window) -> list[str]:
    """The number of every item made in ``window`` that a hold still applies to, oldest first."""
    rows = session.execute(
        select(_items.c.number)
        .select_from(_runs.join(_items, _items.c.id == _runs.c.item_id))
        .where(*_in_window(window), _items.c.status.in_(HOLDABLE))
        .order_by(_runs.c.completed_at, _runs.c.id)
    )
    return list(dict.fromkeys(row.number for row in rows))
