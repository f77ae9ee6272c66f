"""Seals: every production record written is covered by the audit chain.

The audit chain shows any change to the audit rows themselves; seals extend that to the records
of production. Each row inserted into a sealed table (:data:`SEALED_TABLES`) through
:mod:`engine.infra.statements` is digested as it is written (every column but its generated
key, each value in the form the database gives it back), and the digests of one transaction go
into the audit row it appends (``audit_log.sealed``, covered by that row's hash). ``verify``
then digests every row of those tables again: a row whose digest no audit row sealed was edited
or inserted behind Ferrule's back, and a sealed digest that no row has any more belongs to a row
that was edited or deleted.

Rows that hold current state (items, lots, work orders, users) change legitimately; every change
to them writes an audit row with its old and new values instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Date, DateTime, Float, Integer, Table
from sqlalchemy.orm import Session

from engine.records.base import Base
from engine.records.production import (
    Consumption,
    Disposition,
    GateResult,
    HoldEvent,
    Measurement,
    Nonconformance,
    OperationRun,
    Signature,
    StartAttempt,
    TagCapture,
)

SEALED_TABLES = frozenset(
    model.__tablename__
    for model in (
        StartAttempt,
        OperationRun,
        Measurement,
        TagCapture,
        GateResult,
        Consumption,
        HoldEvent,
        Nonconformance,
        Disposition,
        Signature,
    )
)
PENDING = "ferrule.seals"  # the key of a session's unsealed digests in ``Session.info``
_DIGEST_HEX = 32  # 128 bits: collisions are out of reach for any plant's lifetime


def _plain(value: Any, kind: Any) -> Any:
    """``value`` as the column's type reads it back, so both sides digest alike."""
    if value is None:
        return None
    if isinstance(kind, DateTime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(kind, Date):
        return value.isoformat()
    if isinstance(kind, Float):
        return float(value)
    if isinstance(kind, Integer):
        return int(value)
    return value


def digest(table: Table, row: Mapping[str, Any]) -> str:
    """The seal of one row of ``table`` (``row`` by column key)."""
    content = {
        c.key: _plain(row[c.key], c.type) for c in table.c if c is not table.autoincrement_column
    }
    text = json.dumps([table.name, content], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_HEX]


def note(info: dict[str, Any], table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Remember the seals of ``rows`` just inserted into ``table`` in this transaction."""
    pending: dict[str, list[str]] = info.setdefault(PENDING, {})
    pending.setdefault(table.name, []).extend(digest(table, row) for row in rows)


def take(info: dict[str, Any]) -> dict[str, list[str]]:
    """The seals noted so far in this transaction, forgotten here (they go into an audit row)."""
    pending: dict[str, list[str]] = info.pop(PENDING, {})
    return pending


def sealed_table(table: Table) -> Table | None:
    """``table`` when its rows are sealed, else None."""
    return table if table.name in SEALED_TABLES else None


def tables() -> list[Table]:
    """The sealed tables, in a stable order."""
    return [Base.metadata.tables[name] for name in sorted(SEALED_TABLES)]


def rows_of(session: Session, table: Table, batch: int) -> Iterable[tuple[int, str]]:
    """(id, seal) of every row of ``table``, read ``batch`` at a time in id order."""
    key = table.autoincrement_column
    assert key is not None
    after = 0
    while True:
        chunk = (
            session.execute(table.select().where(key > after).order_by(key).limit(batch))
            .mappings()
            .all()
        )
        for row in chunk:
            yield int(row[key.key]), digest(table, dict(row))
        if len(chunk) < batch:
            return
        after = int(chunk[-1][key.key])
