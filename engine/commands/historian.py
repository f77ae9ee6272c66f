"""Writing the tag historian's tables: tag ids, stored points in batches, day partitions ahead
(PostgreSQL), and the retention policy that downsamples old points and drops older ones.

Points are process data, not records: no audit row and no seal (docs/historian.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import CursorResult, Table, delete, insert, select, text
from sqlalchemy.orm import Session

from dsl.model import HistoryPolicy
from engine.floor.historian import DAY_MS, MS, HistorySpec, Sample, downsample
from engine.infra.jsonable import Jsonable
from engine.records.historian import (
    PARTITION_PREFIX,
    POINTS_TABLE,
    HistoryBucket,
    HistoryPoint,
    HistoryTag,
)

POINTS: Table = HistoryPoint.__table__  # type: ignore[assignment]
BUCKETS: Table = HistoryBucket.__table__  # type: ignore[assignment]
_PARTITION = re.compile(rf"^{PARTITION_PREFIX}(\d{{8}})$")
DEFAULT_HOLD_MS = 601 * MS
"""How long a stored value holds for a tag the plant no longer records (its heartbeat unknown):
the default heartbeat and a second."""


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def tag_ids(session: Session, specs: Iterable[HistorySpec]) -> dict[str, int]:
    """The integer id of each recorded tag, adding the tags recorded for the first time."""
    wanted = {spec.key: spec.unit for spec in specs}
    known = dict(session.execute(select(HistoryTag.key, HistoryTag.id)).all())
    missing = [{"key": key, "unit": unit} for key, unit in wanted.items() if key not in known]
    if missing:
        session.execute(insert(HistoryTag), missing)
        known = dict(session.execute(select(HistoryTag.key, HistoryTag.id)).all())
    return {key: known[key] for key in wanted}


def last_points(session: Session, ids: Mapping[str, int]) -> dict[str, Sample]:
    """The last stored point of each tag (for the compression to continue after a restart)."""
    found: dict[str, Sample] = {}
    for key, tag_id in ids.items():
        row = session.execute(
            select(
                HistoryPoint.at_ms, HistoryPoint.value, HistoryPoint.quality, HistoryPoint.reason
            )
            .where(HistoryPoint.tag_id == tag_id)
            .order_by(HistoryPoint.at_ms.desc())
            .limit(1)
        ).first()
        if row is not None:
            found[key] = Sample(row.at_ms, row.value, row.quality, row.reason)
    return found


def day_of(at_ms: int) -> dt.date:
    """The UTC day of an instant in milliseconds."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=at_ms // DAY_MS)


def partition_name(day: dt.date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def partitions(session: Session) -> dict[str, dt.date]:
    """The day partitions of the points table (PostgreSQL), by name."""
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
        ),
        {"parent": POINTS_TABLE},
    ).scalars()
    found: dict[str, dt.date] = {}
    for name in names:
        match = _PARTITION.match(name)
        if match is not None:
            found[name] = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    return found


def create_partitions(session: Session, days: Iterable[dt.date]) -> list[str]:
    """Create the day partitions of ``days`` that do not exist yet (PostgreSQL; nothing on
    SQLite); the names created."""
    if not is_postgres(session):
        return []
    existing = partitions(session)
    created: list[str] = []
    for day in sorted(set(days)):
        name = partition_name(day)
        if name in existing:
            continue
        start = (day - dt.date(1970, 1, 1)).days * DAY_MS
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {POINTS_TABLE} "
                f"FOR VALUES FROM ({start}) TO ({start + DAY_MS})"
            )
        )
        created.append(name)
    return created


def store(session: Session, rows: Sequence[tuple[int, Sample]]) -> int:
    """Insert stored points ``(tag id, sample)`` in one batch (executemany); how many."""
    if rows:
        session.execute(
            insert(POINTS),
            [
                {
                    "tag_id": tag_id,
                    "at_ms": s.at_ms,
                    "value": s.value,
                    "quality": s.quality,
                    "reason": s.reason,
                }
                for tag_id, s in rows
            ],
        )
    return len(rows)


@dataclass(frozen=True, slots=True)
class Retention(Jsonable):
    """What one pass of the retention policy did: points turned into ``buckets`` up to
    ``downsampled_to`` (None when nothing was downsampled), raw points deleted before
    ``points_before`` (``partitions_dropped`` of them whole, on PostgreSQL), buckets deleted."""

    points_before: dt.datetime
    points_deleted: int
    partitions_dropped: tuple[str, ...]
    buckets: int
    buckets_deleted: int
    downsampled_to: dt.datetime | None = None


def _deleted(result: object) -> int:
    """How many rows a DELETE removed."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _instant(at_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(at_ms / MS, dt.UTC)


def apply_retention(
    session: Session, policy: HistoryPolicy, now_ms: int, hold_ms: Mapping[int, int]
) -> Retention:
    """Downsample and drop what ``policy`` says is too old at ``now_ms``. Raw points go by whole
    UTC days: those of days that ended ``downsample_after`` (without downsampling: ``keep``) ago
    are first downsampled (buckets of ``downsample_to``), then deleted; buckets older than
    ``keep`` are deleted. ``hold_ms`` is how long each tag's stored value holds (by tag id)."""
    downsampling = policy.downsample_after_s is not None and policy.downsample_to_s is not None
    age_s = policy.downsample_after_s if downsampling else policy.keep_s
    assert age_s is not None
    limit = (now_ms - round(age_s * MS)) // DAY_MS * DAY_MS
    made = 0
    if downsampling:
        assert policy.downsample_to_s is not None
        made = _downsample_before(session, limit, round(policy.downsample_to_s * MS), hold_ms)
    dropped, deleted = _delete_points_before(session, limit)
    keep_from = now_ms - round(policy.keep_s * MS)
    buckets_deleted = _deleted(session.execute(delete(BUCKETS).where(BUCKETS.c.at_ms < keep_from)))
    return Retention(
        points_before=_instant(limit),
        points_deleted=deleted,
        partitions_dropped=tuple(dropped),
        buckets=made,
        buckets_deleted=buckets_deleted,
        downsampled_to=_instant(limit) if downsampling else None,
    )


def _downsample_before(
    session: Session, limit: int, width_ms: int, hold_ms: Mapping[int, int]
) -> int:
    """Buckets for every raw point before ``limit``, tag by tag; how many buckets."""
    made = 0
    tag_rows = session.execute(
        select(POINTS.c.tag_id).where(POINTS.c.at_ms < limit).distinct()
    ).scalars()
    for tag_id in sorted(tag_rows):
        points = [
            Sample(row.at_ms, row.value, row.quality)
            for row in session.execute(
                select(POINTS.c.at_ms, POINTS.c.value, POINTS.c.quality)
                .where(POINTS.c.tag_id == tag_id, POINTS.c.at_ms < limit)
                .order_by(POINTS.c.at_ms)
            )
        ]
        buckets = downsample(points, width_ms, hold_ms.get(tag_id, DEFAULT_HOLD_MS), limit)
        if buckets:
            session.execute(
                insert(BUCKETS),
                [
                    {
                        "tag_id": tag_id,
                        "at_ms": b.at_ms,
                        "width_ms": b.width_ms,
                        "low": b.low,
                        "high": b.high,
                        "mean": b.mean,
                        "last": b.last,
                        "count": b.count,
                    }
                    for b in buckets
                ],
            )
        made += len(buckets)
    return made


def _delete_points_before(session: Session, limit: int) -> tuple[list[str], int]:
    """Delete raw points before ``limit`` (a UTC midnight): on PostgreSQL by dropping whole day
    partitions; (partitions dropped, rows deleted in them or by DELETE)."""
    if not is_postgres(session):
        count = _deleted(session.execute(delete(POINTS).where(POINTS.c.at_ms < limit)))
        return [], count
    limit_day = day_of(limit)
    dropped: list[str] = []
    count = 0
    for name, day in sorted(partitions(session).items()):
        if day < limit_day:
            # the name is one of the partitions found above, matching history_points_dYYYYMMDD
            count += session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608
            session.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped, count
