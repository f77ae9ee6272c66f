"""Holds: stopping an item where it is, and letting it go on.

A hold (by a supervisor or quality, with a reason) stops an item where it is; releasing it (again
with a reason) lets it carry on from there. Defects are nonconformances
(:mod:`engine.commands.nonconformances`), decided by dispositions
(:mod:`engine.commands.dispositions`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine.access.people import require_role
from engine.commands.nonconformances import need_text
from engine.errors import Conflict
from engine.floor.items import ItemRow, ItemState, find_item, state_change, update_state
from engine.infra import audit
from engine.infra.statements import Sql, insert_rows
from engine.records.production import HoldEvent, table

HOLD_ROLES = ("supervisor", "quality")

_holds = table(HoldEvent)
_INSERT_HOLD = insert_rows(_holds)


def _hold_event(
    session: Session, item: ItemRow, action: str, *, actor: str, reason: str, now: dt.datetime
) -> None:
    Sql(session).execute(
        _INSERT_HOLD,
        {
            "item_id": item.id,
            "action": action,
            "source": "manual",
            "actor": actor,
            "reason": reason,
            "at": now,
            "config_version_id": item.config_version_id,
        },
    )


def hold_item(
    session: Session, *, item_number: str, actor: str, reason: str, now: dt.datetime
) -> ItemState:
    """Put an item on hold where it stands (a supervisor or quality, with a reason)."""
    item = find_item(session, item_number)
    require_role(session, actor, HOLD_ROLES, f"put {item.label} on hold")
    text = need_text(reason, f"put {item.label} on hold")
    if item.status == "on_hold":
        raise Conflict(f"{item.label} is already on hold (reason: {item.status_reason}).")
    if item.status in ("scrapped", "nonconforming"):
        shown = "has an open nonconformance" if item.status == "nonconforming" else item.status
        raise Conflict(
            f"{item.label} is {shown}; only queued, started or completed items can be put on hold."
        )
    _hold_event(session, item, "hold", actor=actor, reason=text, now=now)
    moved = update_state(session, item, {"status": "on_hold", "status_reason": text}, now)
    audit.record_many(session, [state_change(item, moved, actor=actor, action="hold", reason=text)])
    return ItemState.of(moved, f"{item.label} is on hold: {text}.")


def release_item(
    session: Session, *, item_number: str, actor: str, reason: str, now: dt.datetime
) -> ItemState:
    """Release an item's hold; it carries on where it was (a supervisor or quality)."""
    item = find_item(session, item_number)
    require_role(session, actor, HOLD_ROLES, f"release {item.label}")
    text = need_text(reason, f"release {item.label}")
    if item.status != "on_hold":
        raise Conflict(f"{item.label} is not on hold (it is {item.status.replace('_', ' ')}).")
    if item.current_operation is None:
        status = "completed"
    else:
        status = "in_progress" if item.operation_started else "queued"
    _hold_event(session, item, "release", actor=actor, reason=text, now=now)
    moved = update_state(session, item, {"status": status, "status_reason": ""}, now)
    audit.record_many(
        session, [state_change(item, moved, actor=actor, action="release", reason=text)]
    )
    where = f"waits at '{moved.current_operation}'" if moved.current_operation else "is completed"
    return ItemState.of(moved, f"{item.label} was released and {where}.")
