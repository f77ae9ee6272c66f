"""Genealogy traces on a generated database of 1,000,000 units and 5,000,000 consumption links.

The rows are written straight into the real schema (created by the engine) with sqlite3
executemany, in a temporary file: 1,000,000 items (200,000 of them sub-assemblies built into
another unit), one operation run each, 250,000 part lots, and five consumption links per unit.
Then ~200 random traces run through the engine's query API: backward from a unit (through its
sub-assembly) and forward from a lot (a recall). Prints p50/p99 of each; last line
``genealogy_trace_p99_ms: <number>`` (the worse p99; target <= 50 on SQLite).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import bulk_rows

from engine.infra.db import Database
from engine.queries import genealogy

UNITS = 1_000_000
SUBS = 200_000  # the first SUBS tops each contain one sub-assembly
LOTS = 250_000
LINKS_PER_UNIT = 5
SAMPLES = 100  # per direction
STAMP = "2026-11-03 10:00:00.000000"


def generate(path: Path, units: int) -> None:
    """Fill the schema: tops are items 1..tops, sub-assemblies follow them."""
    subs = min(SUBS, units // 5)
    tops = units - subs
    con = bulk_rows.bulk_load(path, STAMP)
    con.execute(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, revision) "
        "VALUES (1, 'WO1', 'TOP', 'top', ?, 'released', 1, ?, 'bench', 1)",
        (units, STAMP),
    )
    for batch in bulk_rows.batches(
        (
            lot,
            f"P{lot % 10}",
            f"L{lot:07d}",
            1000.0,
            1000.0,
            "pcs",
            "available",
            "",
            "",
            STAMP,
            "b",
            1,
        )
        for lot in range(1, LOTS + 1)
    ):
        con.executemany(
            "INSERT INTO lots (id, part, number, quantity, received_quantity, unit, status, "
            "supplier, hold_reason, received_at, received_by, revision) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
    for batch in bulk_rows.batches(
        (item, f"{'T' if item <= tops else 'S'}{item:07d}", item, "TOP" if item <= tops else "SUB")
        for item in range(1, units + 1)
    ):
        con.executemany(
            "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, "
            "status, status_reason, current_operation, operation_started, rework_counts, revision, "
            f"config_version_id, created_at, updated_at) VALUES (?, ?, 1, ?, ?, 'unit', 1, "
            f"'completed', '', NULL, 0, '{{}}', 1, 1, '{STAMP}', '{STAMP}')",
            batch,
        )
    for batch in bulk_rows.batches((item, item) for item in range(1, units + 1)):
        con.executemany(
            "INSERT INTO operation_runs (id, item_id, operation, operator, equipment, started_at, "
            f"completed_at, route, route_reason, config_version_id) VALUES (?, ?, 'build', 'olga', "
            f"'cell-1', '{STAMP}', '{STAMP}', 'completed', '', 1)",
            batch,
        )
    rng = random.Random(7)

    def links() -> Iterator[tuple[object, ...]]:
        for item in range(1, units + 1):
            lot_links = LINKS_PER_UNIT
            if item <= subs:  # this top contains the sub-assembly tops + item
                yield (item, item, "SUB", None, tops + item)
                lot_links -= 1
            for _ in range(lot_links):
                lot = rng.randint(1, LOTS)
                yield (item, item, f"P{lot % 10}", lot, None)

    for batch in bulk_rows.batches(links()):
        con.executemany(
            "INSERT INTO consumptions (item_id, run_id, part, lot_id, component_item_id, "
            "quantity, unit, config_version_id) VALUES (?, ?, ?, ?, ?, 1, 'pcs', 1)",
            batch,
        )
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def timed(samples: list[str], trace: Callable[[str], int]) -> tuple[list[float], int]:
    times: list[float] = []
    found = 0
    for sample in samples:
        began = time.perf_counter()
        found += trace(sample)
        times.append((time.perf_counter() - began) * 1000)
    return times, found


def report(label: str, times: list[float], found: int) -> float:
    p99 = bulk_rows.p99(times)
    print(
        f"{label}: {len(times)} traces, p50 {statistics.median(times):.2f} ms, "
        f"p99 {p99:.2f} ms, {found / len(times):.1f} rows per trace"
    )
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=UNITS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "genealogy.db"
        db = Database.from_url(f"sqlite:///{path}")
        db.create_all()
        db.dispose()
        began = time.perf_counter()
        generate(path, args.units)
        print(
            f"generated {args.units:,} units and {args.units * LINKS_PER_UNIT:,} links "
            f"in {time.perf_counter() - began:.0f} s"
        )
        db = Database.from_url(f"sqlite:///{path}")
        rng = random.Random(11)
        subs = min(SUBS, args.units // 5)
        tops = [f"T{rng.randint(1, subs):07d}" for _ in range(SAMPLES // 2)]
        tops += [f"T{rng.randint(1, args.units - subs):07d}" for _ in range(SAMPLES // 2)]
        lots = [f"L{rng.randint(1, LOTS):07d}" for _ in range(SAMPLES)]
        with db.session() as session:
            back, back_rows = timed(tops, lambda n: len(genealogy.backward(session, n).lots))
            forward, forward_rows = timed(
                lots, lambda n: len(genealogy.forward(session, f"P{int(n[1:]) % 10}", n))
            )
        db.dispose()
    worst = max(report("backward", back, back_rows), report("forward", forward, forward_rows))
    print(f"genealogy_trace_p99_ms: {worst:.2f}")


if __name__ == "__main__":
    main()
