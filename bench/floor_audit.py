"""What the raw floors of the completion benchmarks share: a sqlite3 connection set up as the
engine sets up its own (the same sync mode, so that ratios compare like with like), timestamps as
SQLAlchemy stores them on SQLite, audit rows hash-chained exactly as engine/infra/audit.py chains
them (sha256 of the previous hash and the row's canonical JSON), computed with plain json and
hashlib, and the lot decrement the engine runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.infra.db import sync_mode

AUDIT_INSERT = (
    "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, old, new, reason, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# As engine/commands/materials.py takes from a lot: in one statement, no read-modify-write.
TAKE_FROM_LOT = (
    "UPDATE lots SET quantity = CASE WHEN round(quantity - ?, 9) <= 1e-9 THEN 0 "
    "ELSE round(quantity - ?, 9) END, status = CASE WHEN round(quantity - ?, 9) <= 1e-9 "
    "THEN 'consumed' ELSE 'available' END, revision = revision + 1 "
    "WHERE id = ? AND status = 'available' AND quantity + 1e-9 >= ? RETURNING quantity, status"
)

# action, entity, entity id, old values, new values, reason
Change = tuple[str, str, str, dict[str, Any], dict[str, Any], str]


def connect(path: str | Path, engine_url: str, timeout: float = 5.0) -> sqlite3.Connection:
    """A plain sqlite3 connection to ``path`` with the PRAGMAs the engine runs for
    ``engine_url``: WAL, foreign keys, and the engine's sync mode (FULL unless the URL says
    ``?synchronous=normal``)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    for pragma in ("journal_mode=WAL", f"synchronous={sync_mode(engine_url)}", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def take(connection: sqlite3.Connection, lot_id: int, quantity: float) -> tuple[float, str]:
    """:data:`TAKE_FROM_LOT`: what is left of the lot and its status."""
    left, status = connection.execute(
        TAKE_FROM_LOT, (quantity, quantity, quantity, lot_id, quantity)
    ).fetchone()
    return float(left), str(status)


def stamp(moment: dt.datetime) -> str:
    """A timestamp as SQLAlchemy stores it on SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain(
    seq: int, prev: str, at: dt.datetime, actor: str, changes: Sequence[Change]
) -> tuple[list[tuple[Any, ...]], int, str]:
    """The audit rows for ``changes`` after the head (``seq``, ``prev``), and the new head."""
    rows: list[tuple[Any, ...]] = []
    for action, entity, entity_id, old, new, reason in changes:
        seq += 1
        old_text, new_text = canonical(old), canonical(new)
        content = {
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "old": old_text,
            "new": new_text,
            "reason": reason,
        }
        digest = hashlib.sha256((prev + canonical(content)).encode()).hexdigest()
        rows.append(
            (seq, stamp(at), actor, action, entity, entity_id, old_text, new_text, reason, prev,
             digest)
        )  # fmt: skip
        prev = digest
    return rows, seq, prev
