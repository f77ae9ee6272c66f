"""Reading the tag historian: a tag's trend over a period (stored points, thinned out for a chart
when there are many, with every quality change kept; downsampled buckets where the raw points are
gone), and its stored points one by one for an export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.floor.historian import MS
from engine.infra.jsonable import Jsonable
from engine.records.historian import GOOD, QUALITY_NAMES, HistoryBucket, HistoryPoint, HistoryTag

MAX_POINTS = 2000
"""A trend thins its points out to about this many (a chart is rarely wider in pixels)."""

Row = tuple[int, float | None, int, str | None]


@dataclass(frozen=True, slots=True)
class TrendPoint(Jsonable):
    """A stored value: it holds from ``at`` until the next point (at most the trend's
    ``hold_s``); ``value`` is None and ``reason`` says why when the quality is not good."""

    at: dt.datetime
    value: float | None
    quality: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TrendBucket(Jsonable):
    """Downsampled values: lowest, highest, time-weighted mean and last in ``width_s`` from
    ``at``."""

    at: dt.datetime
    width_s: float
    low: float
    high: float
    mean: float
    last: float


@dataclass(frozen=True, slots=True)
class Trend(Jsonable):
    """A tag's recorded values from ``start`` to ``end``: ``points`` (the first one may be
    before ``start``: the value held at ``start``), ``buckets`` where only downsampled values are
    left, and ``thinned`` when points were left out to draw it."""

    key: str
    unit: str
    start: dt.datetime
    end: dt.datetime
    hold_s: float
    points: tuple[TrendPoint, ...]
    buckets: tuple[TrendBucket, ...]
    thinned: bool = False


def ms_of(moment: dt.datetime) -> int:
    """An aware datetime in milliseconds since the epoch."""
    return round(moment.timestamp() * MS)


def instant(at_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(at_ms / MS, dt.UTC)


def tag_row(session: Session, key: str) -> HistoryTag:
    """The recorded tag ``key``; NotFound when the historian never recorded it."""
    found = session.scalars(select(HistoryTag).where(HistoryTag.key == key)).first()
    if found is None:
        raise NotFound(f"The historian has no values of tag '{key}'.")
    return found


_COLUMNS = (HistoryPoint.at_ms, HistoryPoint.value, HistoryPoint.quality, HistoryPoint.reason)


def _inside(tag_id: int, start_ms: int, end_ms: int) -> tuple[ColumnElement[bool], ...]:
    return (
        HistoryPoint.tag_id == tag_id,
        HistoryPoint.at_ms >= start_ms,
        HistoryPoint.at_ms < end_ms,
    )


def trend(
    session: Session,
    key: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    hold_s: float,
    max_points: int = MAX_POINTS,
) -> Trend:
    """Tag ``key``'s trend from ``start`` to ``end`` (see :class:`Trend`)."""
    tag = tag_row(session, key)
    start_ms, end_ms = ms_of(start), ms_of(end)
    before = session.execute(
        select(*_COLUMNS)
        .where(
            HistoryPoint.tag_id == tag.id,
            HistoryPoint.at_ms < start_ms,
            HistoryPoint.at_ms >= start_ms - round(hold_s * MS),
        )
        .order_by(HistoryPoint.at_ms.desc())
        .limit(1)
    ).all()
    inside = _inside(tag.id, start_ms, end_ms)
    enough = select(HistoryPoint.at_ms).where(*inside).limit(max_points + 1).subquery()
    thinned = (session.scalar(select(func.count()).select_from(enough)) or 0) > max_points
    if thinned:
        found = thinned_rows(session, tag.id, start_ms, end_ms, max_points // 2)
    else:
        found = list(session.execute(select(*_COLUMNS).where(*inside).order_by(HistoryPoint.at_ms)))
    rows = cast(list[Row], [*before, *found])  # rows unpack like tuples
    buckets = session.execute(
        select(HistoryBucket)
        .where(
            HistoryBucket.tag_id == tag.id,
            HistoryBucket.at_ms >= start_ms,
            HistoryBucket.at_ms < end_ms,
        )
        .order_by(HistoryBucket.at_ms)
    ).scalars()
    return Trend(
        key=key,
        unit=tag.unit,
        start=start,
        end=end,
        hold_s=hold_s,
        points=tuple(
            TrendPoint(instant(at), value, QUALITY_NAMES.get(quality, "bad"), reason or "")
            for at, value, quality, reason in rows
        ),
        buckets=tuple(
            TrendBucket(instant(b.at_ms), b.width_ms / MS, b.low, b.high, b.mean, b.last)
            for b in buckets
        ),
        thinned=thinned,
    )


def thinned_rows(
    session: Session, tag_id: int, start_ms: int, end_ms: int, columns: int
) -> list[Row]:
    """The period's points thinned in the database to two per column of
    ``(end - start) / columns``: the column's lowest value at its first point's time and its
    highest at its last point's (what a chart that wide can show). A column holding a point
    that is not good is kept whole, so that every quality change and its reason stay exact."""
    width = max(1, (end_ms - start_ms) // max(1, columns))
    column = ((HistoryPoint.at_ms - start_ms) // width).label("col")
    grouped = session.execute(
        select(
            column,
            func.min(HistoryPoint.at_ms),
            func.max(HistoryPoint.at_ms),
            func.min(HistoryPoint.value),
            func.max(HistoryPoint.value),
            func.count(case((HistoryPoint.quality != GOOD, 1))),
        )
        .where(*_inside(tag_id, start_ms, end_ms))
        .group_by(column)
    ).all()
    rows: list[Row] = []
    whole: list[tuple[int, int]] = []  # column ranges read point by point
    for index, first, last, low, high, not_good in grouped:
        if not_good:
            lo = start_ms + int(index) * width
            if whole and whole[-1][1] == lo:
                whole[-1] = (whole[-1][0], lo + width)
            else:
                whole.append((lo, lo + width))
            continue
        rows.append((first, low, GOOD, None))
        if last != first:
            rows.append((last, high, GOOD, None))
    if whole:
        ranges = or_(*(and_(HistoryPoint.at_ms >= lo, HistoryPoint.at_ms < hi) for lo, hi in whole))
        rows += cast(
            list[Row],
            list(session.execute(select(*_COLUMNS).where(HistoryPoint.tag_id == tag_id, ranges))),
        )
    rows.sort(key=lambda row: row[0])
    return rows


def stored_points(
    session: Session, key: str, start: dt.datetime, end: dt.datetime, batch: int = 5000
) -> Iterator[TrendPoint]:
    """Every stored point of ``key`` from ``start`` to ``end``, in time order (streamed)."""
    tag = tag_row(session, key)
    rows = session.execute(
        select(*_COLUMNS)
        .where(
            HistoryPoint.tag_id == tag.id,
            HistoryPoint.at_ms >= ms_of(start),
            HistoryPoint.at_ms < ms_of(end),
        )
        .order_by(HistoryPoint.at_ms)
        .execution_options(yield_per=batch)
    )
    for at, value, quality, reason in rows:
        yield TrendPoint(instant(at), value, QUALITY_NAMES.get(quality, "bad"), reason or "")
