"""The audit trail as an inspector reads it: rows searched by record, user, action and time, newest
first, with old and new values decoded; page by page (``before`` a sequence number) so that a
trail of millions of rows answers as fast as a short one, and as CSV for export.

Lots are recorded by their record id; an inspector knows their number. So a lot may be named by
its number (``W-001``, or ``WIRE-18-RD/W-001`` when parts share lot numbers) as well as by its id
(digits only: a lot whose number is digits is named ``PART/NUMBER``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.errors import Invalid
from engine.infra.jsonable import Jsonable
from engine.records.tables import AuditRecord, Lot

PAGE_MAX = 1000
CSV_COLUMNS = ("seq", "at", "actor", "action", "entity", "entity_id", "old", "new", "reason")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to look for; every criterion given must hold (text criteria match exactly)."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.entity_id is not None and self.entity is None:
            raise Invalid("Name the kind of record (entity) to search by its id.", field="entity")
        if self.since and self.until and self.since >= self.until:
            raise Invalid("The start of the period must come before its end.", field="since")


@dataclass(frozen=True, slots=True)
class AuditEntry(Jsonable):
    """One row of the trail: who did what to which record, when, the values before and after,
    and why."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str


def _record_ids(session: Session, where: AuditFilter) -> tuple[str, ...]:
    """The ``entity_id`` values that name the record searched for: the one given, and for a lot
    named by its number, that lot's record id (see the module docstring)."""
    given = where.entity_id
    if given is None:
        return ()
    if where.entity != "lot" or given.isdigit():
        return (given,)
    part, _, number = given.rpartition("/")
    query = select(Lot.id, Lot.part).where(Lot.number == number)
    if part:
        query = query.where(Lot.part == part)
    found = session.execute(query).all()
    parts = sorted({row.part for row in found})
    if len(found) > 1:
        raise Invalid(
            f"Lot number '{number}' is used by the parts {', '.join(parts)}; name the lot as "
            f"PART/{number}, e.g. {parts[0]}/{number}.",
            field="entity_id",
        )
    return (given, *(str(row.id) for row in found))


def _selected(where: AuditFilter, record_ids: tuple[str, ...]) -> Select[Any]:
    audit = AuditRecord.__table__
    query = select(audit)
    for column, value in (
        (audit.c.entity, where.entity),
        (audit.c.actor, where.actor),
        (audit.c.action, where.action),
    ):
        if value is not None:
            query = query.where(column == value)
    if record_ids:
        query = query.where(audit.c.entity_id.in_(record_ids))
    if where.since is not None:
        query = query.where(audit.c.at >= where.since)
    if where.until is not None:
        query = query.where(audit.c.at < where.until)
    return query.order_by(audit.c.seq.desc())


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        old=json.loads(row.old),
        new=json.loads(row.new),
        reason=row.reason,
    )


def search(
    session: Session, where: AuditFilter, *, before: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Up to ``limit`` rows matching ``where``, newest first, older than sequence ``before``."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(f"Ask for 1 to {PAGE_MAX} rows at a time.", field="limit")
    query = _selected(where, _record_ids(session, where))
    if before is not None:
        query = query.where(AuditRecord.__table__.c.seq < before)
    return [_entry(row) for row in session.execute(query.limit(limit))]


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula gets a leading
    apostrophe (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(session: Session, where: AuditFilter, *, batch: int = 500) -> Iterator[str]:
    """Every matching row as CSV text (header first), newest first, read ``batch`` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield taken()
    before: int | None = None
    while True:
        page = search(session, where, before=before, limit=batch)
        for entry in page:
            data = entry.to_json()
            writer.writerow(
                _cell(json.dumps(data[c], ensure_ascii=False) if c in ("old", "new") else data[c])
                for c in CSV_COLUMNS
            )
        if page:
            yield taken()
        if len(page) < batch:
            return
        before = page[-1].seq
