"""Seals: every GMP record written is covered by the audit chain.

The audit chain shows any change to the audit rows themselves; seals extend that to every table
that declares itself sealed (``sealed(...)`` in its ``__table_args__``, engine.records.base):

- **append-only** tables (measurements, signatures, …): each row's digest (every column but its
  generated key, each value as the database gives it back) is sealed once, when it is written.
- **current-state** tables (items, lots, work orders, users, …): each row is updated in place, so
  after every change the row's digest is sealed again under its key; the latest seal counts.

Writes are noticed on every path a command can take: rows inserted through
:func:`engine.infra.statements.insert_rows` are digested as they are written; a compiled UPDATE
or DELETE names the key of the row it changes; ORM flushes (:func:`after_flush`) and statements
run through ``Session.execute`` (:func:`on_execute`) name the rows they touch. Touched rows are
read back and digested when the transaction appends its audit row (or, for the last changes, the
seal-only row ``Database.transaction`` appends at commit), and the digests go into that row's
``sealed`` column, under its hash.

``verify`` (:class:`Ledger`) then digests every row again: an append-only row no seal covers was
edited or inserted outside Ferrule, a sealed digest no row has was deleted or edited; a current
row that differs from its latest seal was edited, one without a seal inserted, and a sealed key
without a row deleted. Rows are compared as they are at the end of the chain's last transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, DateTime, Float, Integer, Table, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.operators import eq

from engine.records.base import APPEND_ONLY, CURRENT_STATE, Base

PENDING = "ferrule.seals"  # a session's digests of written append-only rows, by table
TOUCHED = "ferrule.touched"  # a session's rows to read back and seal: {table: {key: pk values}}
_DIGEST_HEX = 32  # 128 bits: collisions are out of reach for any plant's lifetime

# Reads one row of a table back by its primary-key values (None when it is gone).
Fetch = Callable[[Table, Sequence[Any]], Mapping[str, Any] | None]


def kind(table: Table) -> str | None:
    """How ``table`` is sealed: APPEND_ONLY, CURRENT_STATE or None (not a GMP record)."""
    seal = table.info.get("seal")
    return seal if isinstance(seal, str) else None


def sealed_tables(seal: str) -> list[Table]:
    """The tables sealed as ``seal``, in a stable order."""
    return [t for _, t in sorted(Base.metadata.tables.items()) if kind(t) == seal]


def working_tables() -> list[str]:
    """The tables that hold working data rather than records (and the audit chain itself)."""
    chain = {"audit_log", "audit_head"}
    return [
        name
        for name, t in sorted(Base.metadata.tables.items())
        if kind(t) is None and name not in chain
    ]


def sealed_table(table: Table) -> Table | None:
    """``table`` when its inserted rows are digested as written (append-only), else None."""
    return table if kind(table) == APPEND_ONLY else None


def _utc_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _reader(column_type: Any) -> Callable[[Any], Any] | None:
    """How a value of ``column_type`` is put in the form the column reads back (None: as is),
    so that a row digested as written and as read gives the same seal."""
    if isinstance(column_type, DateTime):
        return _utc_text
    if isinstance(column_type, Date):
        return dt.date.isoformat
    if isinstance(column_type, Float):
        return float
    if isinstance(column_type, Integer):
        return int
    return None


_readers: dict[Table, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def digest(table: Table, row: Mapping[Any, Any]) -> str:
    """The seal of one row of ``table`` (``row`` by column key): every column but its
    generated key (worked out once per table; this runs for every row a command writes)."""
    readers = _readers.get(table)
    if readers is None:
        readers = _readers[table] = tuple(
            (c.key, _reader(c.type)) for c in table.c if c is not table.autoincrement_column
        )
    content = {}
    for key, read in readers:
        value = row[key]
        content[key] = read(value) if read is not None and value is not None else value
    return hashlib.sha256(_ENCODE([table.name, content]).encode()).hexdigest()[:_DIGEST_HEX]


def row_key(values: Sequence[Any]) -> str:
    """How a row is named in seals and messages: its key, or its composite key as JSON."""
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(v) for v in values], separators=(",", ":"))


# ---------------------------------------------------------------- noticing writes


def note(info: dict[str, Any], table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Remember the seals of ``rows`` just inserted into append-only ``table``."""
    pending: dict[str, list[str]] = info.setdefault(PENDING, {})
    pending.setdefault(table.name, []).extend(digest(table, row) for row in rows)


def touch(info: dict[str, Any], table: Table, keys: Iterable[Sequence[Any]]) -> None:
    """Remember rows of ``table`` (by primary-key values) to read back and seal."""
    touched: dict[str, dict[str, tuple[Any, ...]]] = info.setdefault(TOUCHED, {})
    rows = touched.setdefault(table.name, {})
    for values in keys:
        rows[row_key(values)] = tuple(values)


def pending(info: Mapping[str, Any]) -> bool:
    """Whether this transaction wrote sealed rows that no audit row has sealed yet."""
    return bool(info.get(PENDING) or info.get(TOUCHED))


def key_binds(statement: ClauseElement) -> tuple[Table, tuple[str, ...]] | None:
    """For a compiled UPDATE or DELETE of a sealed table: the table and the bind parameters
    that give the primary key of the one row it changes. None for any other statement.

    TypeError when the statement writes to a sealed table in a way seals cannot follow: an
    INSERT into a current-state table, any change to an append-only one, or a WHERE clause
    that does not name the row by its key."""
    if not isinstance(statement, Insert | Update | Delete):
        return None
    table = statement.table
    if not isinstance(table, Table) or kind(table) is None:
        return None
    if isinstance(statement, Insert):
        if kind(table) == APPEND_ONLY:
            return None  # insert_rows digests these as written
        raise TypeError(f"insert rows of {table.name} through the ORM or Session.execute")
    if kind(table) == APPEND_ONLY:
        raise TypeError(f"{table.name} is append-only: its rows are never updated or deleted")
    binds: dict[str, str] = {}
    where = statement.whereclause
    for node in visitors.iterate(where) if where is not None else ():
        if (
            isinstance(node, BinaryExpression)
            and node.operator is eq
            and isinstance(node.right, BindParameter)
            and getattr(node.left, "table", None) is table
            and isinstance(column := getattr(node.left, "key", None), str)
            and column in table.primary_key.columns
        ):
            binds[column] = node.right.key
    names = [c.key for c in table.primary_key.columns]
    if set(binds) != set(names):
        raise TypeError(f"a statement changing {table.name} must name its row by {names}")
    return table, tuple(binds[name] for name in names)


def after_flush(session: Session, _flush: UOWTransaction) -> None:
    """ORM flush: remember every sealed row the flush inserted, updated or deleted."""
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__table__", None)
        if not isinstance(table, Table) or kind(table) is None:
            continue
        if kind(table) == APPEND_ONLY and instance not in session.new:
            if instance in session.deleted or session.is_modified(instance):
                raise TypeError(
                    f"{table.name} is append-only: its rows are never updated or deleted"
                )
            continue
        identity = session.identity_key(instance=instance)[1]
        touch(session.info, table, [identity])


def on_execute(state: ORMExecuteState) -> Any:
    """``Session.execute`` of an INSERT, UPDATE or DELETE on a sealed table: remember its rows
    (for an INSERT, by the keys it returns). Returns the statement's result when it ran it."""
    statement = state.statement
    if not isinstance(statement, Insert | Update | Delete):
        return None
    table = statement.table
    if not isinstance(table, Table) or kind(table) is None:
        return None
    keys = list(table.primary_key.columns)
    if isinstance(statement, Insert):
        if statement.returning_column_descriptions:
            raise TypeError(f"an INSERT into {table.name} returns its keys to the seals only")
        result = state.invoke_statement(statement=statement.returning(*keys)).freeze()
        touch(state.session.info, table, result.data)
        return result()
    if kind(table) == APPEND_ONLY:
        raise TypeError(f"{table.name} is append-only: its rows are never updated or deleted")
    query = select(*keys)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    touch(state.session.info, table, state.session.execute(query).all())
    return None


def take(info: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    """The seals of what this transaction wrote so far, for its audit row (forgotten here)."""
    rows: dict[str, list[str]] = info.pop(PENDING, {})
    touched: dict[str, dict[str, tuple[Any, ...]]] = info.pop(TOUCHED, {})
    state: dict[str, dict[str, str | None]] = {}
    for name, keys in touched.items():
        table = Base.metadata.tables[name]
        for key, values in keys.items():
            found = fetch(table, values)
            seal = None if found is None else digest(table, found)
            if kind(table) == CURRENT_STATE:
                state.setdefault(name, {})[key] = seal
            elif seal is not None:
                rows.setdefault(name, []).append(seal)
    sealed: dict[str, Any] = {}
    if rows:
        sealed["rows"] = rows
    if state:
        sealed["state"] = state
    return sealed


# ---------------------------------------------------------------- verification


def rows_of(session: Session, table: Table, batch: int) -> Iterator[tuple[str, str]]:
    """(key, seal) of every row of ``table``, streamed ``batch`` at a time."""
    keys = [c.key for c in table.primary_key.columns]
    query = select(table).execution_options(yield_per=batch)
    for row in session.execute(query).mappings():
        yield row_key([row[k] for k in keys]), digest(table, row)


@dataclass
class Ledger:
    """What the chain sealed, gathered from its audit rows (oldest first), checked against the
    tables by :meth:`check`."""

    rows: dict[str, Counter[str]] = field(default_factory=dict)
    sealed_by: dict[tuple[str, str], int] = field(default_factory=dict)
    state: dict[str, dict[str, tuple[str | None, int]]] = field(default_factory=dict)

    def add(self, seq: int, sealed: Mapping[str, Any]) -> None:
        """The seals of audit record ``seq``."""
        for table, digests in sealed.get("rows", {}).items():
            self.rows.setdefault(table, Counter()).update(digests)
            for seal in digests:
                self.sealed_by.setdefault((table, seal), seq)
        for table, latest in sealed.get("state", {}).items():
            current = self.state.setdefault(table, {})
            for key, seal in latest.items():
                current[key] = (seal, seq)

    def check(self, session: Session, batch: int) -> tuple[int, str, int | None]:
        """(rows checked, the first problem or "", the audit record it concerns)."""
        checked = 0
        for table in sealed_tables(APPEND_ONLY):
            remaining = self.rows.get(table.name, Counter())
            for key, seal in rows_of(session, table, batch):
                checked += 1
                if remaining[seal] <= 0:
                    return checked, f"{table.name} row #{key} {_UNCOVERED}", None
                remaining[seal] -= 1
            missing = next((d for d, count in remaining.items() if count > 0), None)
            if missing is not None:
                seq = self.sealed_by[(table.name, missing)]
                problem = f"a {table.name} row sealed by record #{seq} is missing"
                return checked, f"{problem} (it was deleted, or edited)", seq
        for table in sealed_tables(CURRENT_STATE):
            latest = dict(self.state.get(table.name, {}))
            for key, seal in rows_of(session, table, batch):
                checked += 1
                expected, seq = latest.pop(key, (None, 0))
                if expected is None:
                    return checked, f"{table.name} row #{key} {_UNCOVERED}", None
                if expected != seal:
                    return (
                        checked,
                        f"{table.name} row #{key} was edited outside Ferrule (it is not as "
                        f"record #{seq} sealed it)",
                        seq,
                    )
            for key, (expected, seq) in latest.items():
                if expected is not None:
                    problem = f"{table.name} row #{key}, sealed by record #{seq}, is missing"
                    return checked, f"{problem} (it was deleted outside Ferrule)", seq
        return checked, "", None


_UNCOVERED = "is not covered by the audit trail (it was edited, or inserted outside Ferrule)"
