"""The audit trail: an append-only, hash-chained record of every change.

``record`` appends one row: who, when, what (action, entity, id), old and new values, why. Each
row's ``hash`` is ``sha256(prev_hash + canonical JSON of the row)`` and ``seq`` runs without gaps,
so :func:`verify` can tell an edited row (its hash no longer matches its content), an inserted
row (the chain skips over it) and a deleted one (a gap, or a link to a row that is gone). Appends
are serialised: on PostgreSQL by a lock on the chain's head row (a transaction-scoped advisory
lock before the first append), on SQLite by the write lock that ``BEGIN IMMEDIATE`` already holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from engine.infra import outbox, seals
from engine.infra.statements import Sql, Statement, insert_rows, row_by_key
from engine.records.base import Base, utcnow
from engine.records.tables import AuditHead, AuditRecord

GENESIS = ""
HEAD_ID = 1
_RECENT = 1000  # how many recent hashes verify remembers
_LOCK_KEY = 0x46455252  # "FERR": the advisory lock that serialises chain appends on PostgreSQL
_audit = Base.metadata.tables[AuditRecord.__tablename__]
_head = Base.metadata.tables[AuditHead.__tablename__]


@dataclass(frozen=True, slots=True)
class Change:
    """One change to be recorded; ``old``/``new`` are plain JSON-able values (dates become text)."""

    actor: str
    action: str
    entity: str
    entity_id: str | int
    old: Mapping[str, Any] | None = None
    new: Mapping[str, Any] | None = None
    reason: str = ""


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical(value: object) -> str:
    """Canonical JSON: sorted keys, no spaces, dates and other objects as their ``str``."""
    return _CANONICAL.encode(value)


def row_hash(row: Mapping[str, Any]) -> str:
    """The hash of an audit row: its link and content (``seq`` is checked by the links instead,
    so renumbering rows around an inserted one is named as an insertion, not an edit)."""
    content = {
        "at": _instant(row["at"]),
        "actor": row["actor"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "old": row["old"],
        "new": row["new"],
        "reason": row["reason"],
    }
    if row.get("sealed"):
        content["sealed"] = row["sealed"]
    return hashlib.sha256((row["prev_hash"] + canonical(content)).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    reason: str = "",
) -> int:
    """Append one change to the audit trail in the session's transaction; returns its ``seq``."""
    return record_many(session, [Change(actor, action, entity, entity_id, old, new, reason)])[-1]


def record_many(session: Session, changes: Iterable[Change]) -> list[int]:
    """Append several changes (one lock, one insert); returns their sequence numbers."""
    return append(Sql(session), changes)


_INSERT_ROWS = insert_rows(_audit)
_INSERT_HEAD = Statement(insert(_head), ["id", "seq", "hash"])
_UPDATE_HEAD = Statement(update(_head).where(_head.c.id == bindparam("head_id")), ["seq", "hash"])
_HEAD = select(_head.c.seq, _head.c.hash).where(_head.c.id == bindparam("head_id"))
_READ_HEAD = Statement(_HEAD)
_LOCK_HEAD_ROW = Statement(_HEAD.with_for_update())
_LOCK_CHAIN = Statement(text("SELECT pg_advisory_xact_lock(:key)"))


def append(sql: Sql, changes: Iterable[Change]) -> list[int]:
    """:func:`record_many` on a command's :class:`~engine.infra.statements.Sql`."""
    pending = list(changes)
    if not pending:
        return []
    _flush_pending(sql)  # lock the rows written first, the chain's head last: one lock order
    seq, prev_hash = _lock_head(sql)
    first = seq + 1
    at = utcnow()
    sealed = _take_seals(sql)
    rows: list[dict[str, Any]] = []
    for number, change in enumerate(pending, start=1):
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor": change.actor,
            "action": change.action,
            "entity": change.entity,
            "entity_id": str(change.entity_id),
            "old": canonical(change.old),
            "new": canonical(change.new),
            "reason": change.reason,
            "sealed": canonical(sealed) if sealed and number == len(pending) else "",
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = row_hash(row)
        rows.append(row)
    outbox.write(sql, rows)
    sql.executemany(_INSERT_ROWS, rows)
    head = {"head_id": HEAD_ID, "id": HEAD_ID, "seq": seq, "hash": prev_hash}
    sql.execute(_INSERT_HEAD if first == 1 else _UPDATE_HEAD, head)
    return list(range(first, seq + 1))


def _flush_pending(sql: Sql) -> None:
    """Send the ORM's pending writes of this transaction to the database."""
    if sql.session is not None and (sql.session.new or sql.session.dirty or sql.session.deleted):
        sql.session.flush()


def _take_seals(sql: Sql) -> dict[str, Any]:
    """The seals of the rows this transaction wrote (flushing the ORM's pending writes first)."""
    if sql.info is None:
        return {}
    _flush_pending(sql)

    def fetch(table: Table, key: Sequence[Any]) -> Mapping[str, Any] | None:
        columns = table.primary_key.columns
        found = sql.first(row_by_key(table), {c.key: v for c, v in zip(columns, key, strict=True)})
        return None if found is None else dict(zip(table.c.keys(), found, strict=True))

    return seals.take(sql.info, fetch)


def _lock_head(sql: Sql) -> tuple[int, str]:
    """Take the chain lock and read the head: (last seq, last hash), (0, GENESIS) when empty.

    On PostgreSQL the head row's lock serialises appends (a waiting append reads the head its
    predecessor wrote); before the first append there is no row to lock, so an advisory lock
    does. On SQLite the transaction already holds the database's write lock."""
    if not sql.is_postgresql:
        head = sql.first(_READ_HEAD, {"head_id": HEAD_ID})
    else:
        head = sql.first(_LOCK_HEAD_ROW, {"head_id": HEAD_ID})
        if head is None:
            sql.execute(_LOCK_CHAIN, {"key": _LOCK_KEY})
            head = sql.first(_LOCK_HEAD_ROW, {"head_id": HEAD_ID})
    return (0, GENESIS) if head is None else (head[0], head[1])


# ---------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of :func:`verify`: ``ok``, how many rows were checked, and what is wrong."""

    ok: bool
    records: int
    problem: str = ""
    seq: int | None = None  # the row the problem is about
    sealed: int = 0  # production records found unchanged under their seals

    def describe(self) -> str:
        if self.ok:
            return (
                f"audit trail intact: {self.records} records; "
                f"{self.sealed} sealed records match their seals"
            )
        return f"audit trail broken: {self.problem}"


def verify(session: Session, batch: int = 5000) -> Verdict:
    """Walk the whole chain and report the first edited, inserted or deleted row; then check
    every sealed production record against the seals the chain holds (engine.infra.seals)."""
    chain = _verify_chain(session, batch)
    if not chain.ok:
        return chain
    sealed, problem, seq = _check_seals(session, batch)
    if problem:
        return Verdict(ok=False, records=chain.records, problem=problem, seq=seq, sealed=sealed)
    return Verdict(ok=True, records=chain.records, sealed=sealed)


def _check_seals(session: Session, batch: int) -> tuple[int, str, int | None]:
    """(rows checked, the first problem or "", the audit record it concerns)."""
    ledger = seals.Ledger()
    for row in _rows(session, batch):
        if row["sealed"]:
            ledger.add(row["seq"], json.loads(row["sealed"]))
    return ledger.check(session, batch)


def _verify_chain(session: Session, batch: int) -> Verdict:
    """The hash chain alone: the first edited, inserted or deleted audit row."""
    head = session.execute(select(_head.c.seq, _head.c.hash)).one_or_none()
    recent: dict[str, int] = {GENESIS: 0}  # hash → seq of the last rows, to spot skipped links
    window: deque[str] = deque()
    checked, expected_seq, expected_prev = 0, 1, GENESIS
    for row, following in _pairs(_rows(session, batch)):
        checked += 1
        seq = row["seq"]
        if head is not None and seq > head.seq:
            return _broken(
                checked,
                seq,
                f"record #{seq} was inserted (the chain's recorded end is #{head.seq})",
            )
        intact = row_hash(row) == row["hash"]
        linked = row["prev_hash"] == expected_prev
        if not (intact and linked):
            return _broken(checked, *_diagnose(row, following, expected_seq, expected_prev, recent))
        if seq != expected_seq:
            return _broken(checked, seq, f"record #{seq} was renumbered (expected #{expected_seq})")
        recent[row["hash"]] = seq
        window.append(row["hash"])
        if len(window) > _RECENT:
            del recent[window.popleft()]
        expected_seq, expected_prev = seq + 1, row["hash"]
    last = expected_seq - 1
    if head is None:
        if checked:
            return _broken(
                checked, 1, "the audit head is missing (the chain's end cannot be checked)"
            )
        return Verdict(ok=True, records=0)
    if head.seq > last:
        return _broken(checked, last + 1, _deleted(last + 1, head.seq + 1))
    if head.hash != expected_prev:
        return _broken(
            checked, last, f"record #{last} was replaced (the chain ended with another record)"
        )
    return Verdict(ok=True, records=checked)


def _diagnose(
    row: Mapping[str, Any],
    following: Mapping[str, Any] | None,
    expected_seq: int,
    expected_prev: str,
    recent: Mapping[str, int],
) -> tuple[int, str]:
    """Why a row does not fit the chain: (the seq to name, what happened)."""
    seq = row["seq"]
    if following is not None and following["prev_hash"] == expected_prev:
        return seq, f"record #{seq} was inserted (record #{following['seq']} links past it)"
    if row["prev_hash"] == expected_prev:
        return seq, f"record #{seq} was edited (its content no longer matches its hash)"
    earlier = recent.get(row["prev_hash"])
    if earlier is not None:
        return earlier + 1, (
            f"record #{earlier + 1} was inserted (record #{seq} links back to #{earlier}, past it)"
        )
    if seq > expected_seq:
        return expected_seq, _deleted(expected_seq, seq)
    return seq, (
        f"record #{seq} does not link to record #{seq - 1}: a record between them was deleted, "
        f"or #{seq - 1} was replaced"
    )


def _deleted(first: int, upto: int) -> str:
    if upto - first <= 1:
        return f"record #{first} was deleted"
    return f"records #{first} to #{upto - 1} were deleted"


def _pairs(
    rows: Iterator[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each row with the one after it (None after the last)."""
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        yield current, following
        current = following


def _broken(count: int, seq: int, problem: str) -> Verdict:
    return Verdict(ok=False, records=count, problem=problem, seq=seq)


def _rows(session: Session, batch: int) -> Iterator[dict[str, Any]]:
    """Every audit row in ``seq`` order, fetched in batches."""
    after = -1
    while True:
        chunk = (
            session.execute(
                select(_audit).where(_audit.c.seq > after).order_by(_audit.c.seq).limit(batch)
            )
            .mappings()
            .all()
        )
        if not chunk:
            return
        for row in chunk:
            yield dict(row)
        after = chunk[-1]["seq"]


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def history(session: Session, entity: str, entity_id: str | int) -> list[dict[str, Any]]:
    """Every audit row about one entity, oldest first, with ``old``/``new`` decoded."""
    rows = session.execute(
        select(_audit)
        .where(_audit.c.entity == entity, _audit.c.entity_id == str(entity_id))
        .order_by(_audit.c.seq)
    ).mappings()
    return [{**row, "old": json.loads(row["old"]), "new": json.loads(row["new"])} for row in rows]
