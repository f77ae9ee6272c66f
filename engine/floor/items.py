"""The items being made: reading one by number, describing it, and changing its state safely.

Every state change goes through :func:`move`, an ``UPDATE … WHERE revision = :seen`` that fails
with a Conflict when someone else changed the item since it was read, and writes the audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, Statement
from engine.records.production import Item, StartAttempt, table

_items = table(Item)
_attempts = table(StartAttempt)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """An item's current state as read at the start of a command."""

    id: int
    number: str
    work_order_id: int
    ordinal: int
    product: str
    kind: str
    quantity: float
    status: str
    status_reason: str
    current_operation: str | None
    operation_started: bool
    start_attempt_id: int | None
    rework_counts: Mapping[str, int]
    revision: int
    config_version_id: int
    started_at: dt.datetime | None
    started_by: str | None

    @property
    def noun(self) -> str:
        """``Unit`` or ``Lot``, for messages."""
        return "Unit" if self.kind == "unit" else "Lot"

    @property
    def label(self) -> str:
        """``Unit HA2611-00007``."""
        return f"{self.noun} {self.number}"

    @property
    def rework_total(self) -> int:
        return sum(self.rework_counts.values())

    def state(self) -> dict[str, Any]:
        """The audited part of the state."""
        return {
            "status": self.status,
            "current_operation": self.current_operation,
            "operation_started": self.operation_started,
            "rework_counts": dict(self.rework_counts),
            "revision": self.revision,
        }


_SELECT = select(
    *(_items.c[f.name] for f in fields(ItemRow) if f.name in _items.c),
    _attempts.c.at.label("started_at"),
    _attempts.c.actor.label("started_by"),
).select_from(_items.outerjoin(_attempts, _attempts.c.id == _items.c.start_attempt_id))
_REWORK_COUNTS = [f.name for f in fields(ItemRow)].index("rework_counts")
_FIND = Statement(_SELECT.where(_items.c.number == bindparam("number")))
_updates: dict[tuple[str, ...], Statement] = {}


def find_item(session: Session, number: str) -> ItemRow:
    """The item with this serial or lot number; NotFound says how to fix a bad scan."""
    return read_item(Sql(session), number)


def read_item(sql: Sql, number: str) -> ItemRow:
    """:func:`find_item` on a command's :class:`~engine.infra.statements.Sql`."""
    row = sql.first(_FIND, {"number": number})
    if row is None:
        raise NotFound(
            f"There is no unit or lot '{number}'; check the number on its label and scan it again."
        )
    values = list(row)
    values[_REWORK_COUNTS] = dict(values[_REWORK_COUNTS] or {})
    return ItemRow(*values)


def _update(columns: tuple[str, ...]) -> Statement:
    """``UPDATE items SET <columns>, revision, updated_at`` guarded by the revision read."""
    statement = _updates.get(columns)
    if statement is None:
        guarded = update(_items).where(
            _items.c.id == bindparam("item_id"), _items.c.revision == bindparam("seen_revision")
        )
        statement = _updates[columns] = Statement(guarded, [*columns, "revision", "updated_at"])
    return statement


def update_state(
    session: Session | Sql, item: ItemRow, changes: Mapping[str, Any], now: dt.datetime
) -> ItemRow:
    """Apply ``changes`` if nobody changed the item since it was read; the item as it now is."""
    sql = Sql.of(session)
    revision = item.revision + 1
    values = {
        **changes,
        "revision": revision,
        "updated_at": now,
        "item_id": item.id,
        "seen_revision": item.revision,
    }
    if sql.execute(_update(tuple(sorted(changes))), values) != 1:
        raise Conflict(
            f"{item.label} was changed by someone else a moment ago; reload to see its current "
            "step and try again.",
            code="stale_revision",
        )
    known = {k: v for k, v in changes.items() if hasattr(item, k)}
    return replace(item, **known, revision=revision)


def state_change(
    before: ItemRow, after: ItemRow, *, actor: str, action: str, reason: str
) -> audit.Change:
    """The audit row for an item's state change."""
    return audit.Change(actor, action, "item", before.number, before.state(), after.state(), reason)


def move(
    session: Session | Sql,
    item: ItemRow,
    *,
    actor: str,
    action: str,
    reason: str,
    now: dt.datetime,
    changes: Mapping[str, Any],
) -> ItemRow:
    """:func:`update_state` and its audit row."""
    sql = Sql.of(session)
    moved = update_state(sql, item, changes, now)
    audit.append(sql, [state_change(item, moved, actor=actor, action=action, reason=reason)])
    return moved


@dataclass(frozen=True, slots=True)
class ItemState(Jsonable):
    """A command's result about one item: where it is now."""

    item: str
    status: str
    current_operation: str | None
    revision: int
    message: str

    @classmethod
    def of(cls, row: ItemRow, message: str) -> ItemState:
        return cls(row.number, row.status, row.current_operation, row.revision, message)
