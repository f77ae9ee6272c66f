"""What the benchmarks that fill a large SQLite database and time queries on it share: the
size they run at, a generated database cached under ``var/bench/``, a connection set up for
the bulk load, rows inserted a batch at a time, and the 99th percentile they report."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

from engine.infra.db import Database
from engine.records.base import Base

BATCH = 50_000  # rows per executemany
CACHE = Path(__file__).resolve().parents[1] / "var" / "bench"
SCALE_VARIABLE = "FERRULE_BENCH_SCALE"


def scaled(full: int) -> int:
    """``full`` times the fraction in FERRULE_BENCH_SCALE (for quick runs while developing; the
    default, 1, is the benchmark's real size)."""
    return max(1, int(full * float(os.environ.get(SCALE_VARIABLE, "1"))))


def _columns_key(tables: Sequence[str]) -> str:
    """A digest of the columns of ``tables``: a cached database made for other columns is not
    reused (changes to the engine's other tables do not matter to the benchmark)."""
    shape = [
        f"{name}.{column.name}:{column.type!r}:{column.nullable}"
        for name in sorted(tables)
        for column in Base.metadata.tables[name].columns
    ]
    return hashlib.sha256("\n".join(shape).encode()).hexdigest()[:12]


def _sync_schema(path: Path) -> None:
    """Give the cached database at ``path`` the engine's tables it lacks and exactly the
    engine's named indexes (they change more often than the data's shape); ANALYZE when any
    index changed."""
    db = Database.from_url(f"sqlite:///{path}")
    db.create_all()
    db.dispose()
    wanted = {
        index.name: " ".join(str(CreateIndex(index).compile(dialect=sqlite.dialect())).split())
        for table in Base.metadata.sorted_tables
        for index in table.indexes
        if index.name
    }
    con = sqlite3.connect(path, isolation_level=None)
    present = {
        name: " ".join(sql.split())
        for name, sql in con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    for name, sql in sorted(present.items()):
        if wanted.get(name) != sql:
            con.execute(f'DROP INDEX "{name}"')
    for name, sql in sorted(wanted.items()):
        if present.get(name) != sql:
            print(f"creating index {name} on the cached database")
            con.execute(sql)
    if present != wanted:
        con.execute("ANALYZE")
    con.close()


def cached_database(
    name: str, shape: str, tables: Sequence[str], fill: Callable[[Path], None]
) -> Path:
    """The generated database ``name`` of data shape ``shape`` (a version and sizes: change it
    when the generator changes), kept under ``var/bench/`` so that a rerun skips generating, as
    long as the columns of ``tables`` (those the benchmark fills or reads) stay the same. When
    missing, ``fill`` writes the rows into a file with the engine's schema; the same shape made
    for other columns is deleted."""
    path = CACHE / f"{name}-{shape}-{_columns_key(tables)}.db"
    if path.exists():
        print(f"reusing {path.relative_to(CACHE.parents[1])}")
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        for stale in CACHE.glob(f"{name}-{shape}-*"):
            stale.unlink()
        partial = path.with_suffix(".partial")
        db = Database.from_url(f"sqlite:///{partial}")
        db.create_all()
        db.dispose()
        began = time.perf_counter()
        fill(partial)
        print(f"generated {path.name} in {time.perf_counter() - began:.0f} s")
        partial.rename(path)
    _sync_schema(path)
    return path


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


def insert(con: sqlite3.Connection, statement: str, rows: Iterable[tuple[object, ...]]) -> None:
    """Every row of ``rows`` through ``statement``, a batch at a time."""
    for batch in batches(rows):
        con.executemany(statement, batch)


def p99(times: Sequence[float]) -> float:
    """The 99th percentile of ``times`` (the worst for fewer than 100)."""
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]
