"""What the raw floors of the completion benchmarks share: timestamps as SQLAlchemy stores them on
SQLite, and audit rows hash-chained exactly as engine/infra/audit.py chains them (sha256 of the
previous hash and the row's canonical JSON), computed with plain json and hashlib."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

AUDIT_INSERT = (
    "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, old, new, reason, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# action, entity, entity id, old values, new values, reason
Change = tuple[str, str, str, dict[str, Any], dict[str, Any], str]


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
