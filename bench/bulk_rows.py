"""What the benchmarks that fill a large SQLite database and time queries on it share: a
connection set up for the bulk load, rows inserted a batch at a time, and the 99th percentile
they report."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

BATCH = 50_000  # rows per executemany


def bulk_load(path: Path, stamp: str) -> sqlite3.Connection:
    """A connection that fills the database at ``path`` fast (no journal, no fsync, one
    transaction begun: COMMIT it), with a placeholder config version 1 created at ``stamp`` for
    the rows to point at."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO config_versions (id, site, content_hash, files, assets, created_at, "
        "created_by, note) VALUES (1, 'bench', 'hash', '{}', '{}', ?, 'bench', '')",
        (stamp,),
    )
    return con


def batches(rows: Iterable[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    """``rows`` in lists of :data:`BATCH` (the last one shorter)."""
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def p99(times: Sequence[float]) -> float:
    """The 99th percentile of ``times`` (the worst for fewer than 100)."""
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]
