"""Recorded tag values as a download: CSV (streamed as the points are read) or Parquet, for the
API (``GET /api/tags/<tag>/history``) and ``ferrule history export``; and the period both read.

Columns: ``time`` (UTC, ISO 8601 with milliseconds; Parquet: a UTC timestamp), ``value`` (empty
or null when the quality is not good), ``quality`` (good, bad, stale) and ``reason`` (why not
good). Only stored points are exported: a value holds until the next point (docs/historian.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from engine.queries.trends import TrendPoint
from web.errors import BadRequest

FORMATS = ("csv", "parquet")
COLUMNS = ("time", "value", "quality", "reason")
CSV_ROWS_PER_CHUNK = 2000
PARQUET_ROW_GROUP = 65_536
_FIELDS: list[pa.Field[Any]] = [
    pa.field("time", pa.timestamp("ms", tz="UTC")),
    pa.field("value", pa.float64()),
    pa.field("quality", pa.dictionary(pa.int8(), pa.string())),
    pa.field("reason", pa.string()),
]
SCHEMA = pa.schema(_FIELDS)
PERIODS = {
    "1h": dt.timedelta(hours=1),
    "8h": dt.timedelta(hours=8),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
}
"""The periods a trend page offers, by their link text."""


def read_moment(args: Mapping[str, str], name: str) -> dt.datetime | None:
    """The query parameter ``name`` as an aware time (None when not given); BadRequest naming
    it when it is not a time with its zone."""
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(
            f"{name}: {text!r} is not a time with its zone; write it like 2026-11-30T14:00:00Z.",
            field=name,
        )
    return moment.astimezone(dt.UTC)


def read_period(
    args: Mapping[str, str], now: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``from`` and ``to``, or ``period`` (1h, 8h, 24h, 7d) up to ``to`` or ``now``."""
    start, end = read_moment(args, "from"), read_moment(args, "to")
    period = args.get("period", "").strip()
    if period:
        if period not in PERIODS:
            raise BadRequest(
                f"period: {period!r} is not one of {', '.join(PERIODS)}.", field="period"
            )
        end = end or now
        start = end - PERIODS[period]
    return start, end


def read_format(args: Mapping[str, str]) -> str:
    """``format``: csv (the default) or parquet."""
    chosen = args.get("format", "csv").strip() or "csv"
    if chosen not in FORMATS:
        raise BadRequest(f"format: {chosen!r} is not csv or parquet.", field="format")
    return chosen


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def csv_chunks(points: Iterable[TrendPoint]) -> Iterator[str]:
    """The points as CSV text (header first), a few thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for count, point in enumerate(points, start=1):
        value = "" if point.value is None else repr(point.value)
        writer.writerow((_time(point.at), value, point.quality, point.reason))
        if count % CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _batch(points: list[TrendPoint]) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array([p.at for p in points], SCHEMA.field("time").type),
            pa.array([p.value for p in points], pa.float64()),
            pa.array([p.quality for p in points], pa.string())
            .dictionary_encode()
            .cast(SCHEMA.field("quality").type),
            pa.array([p.reason or None for p in points], pa.string()),
        ],
        schema=SCHEMA,
    )


def parquet_bytes(points: Iterable[TrendPoint], key: str) -> bytes:
    """The points as one Parquet file (written in row groups as they are read); the tag's key
    is in the file's metadata."""
    sink = io.BytesIO()
    schema = SCHEMA.with_metadata({"ferrule.tag": key})
    with pq.ParquetWriter(sink, schema) as writer:
        chunk: list[TrendPoint] = []
        for point in points:
            chunk.append(point)
            if len(chunk) == PARQUET_ROW_GROUP:
                writer.write_batch(_batch(chunk))
                chunk = []
        writer.write_batch(_batch(chunk))
    return sink.getvalue()


def filename(key: str, extension: str) -> str:
    """``press1.pressure-history.csv``."""
    return f"{key}-history.{extension}"
