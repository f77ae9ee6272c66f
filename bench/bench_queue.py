"""Work-centre queue pages over a realistic work in progress: 50,000 queued items.

The acme-harness plant is deployed into a temporary SQLite database by the engine; then 2,000
released work orders of 25 units each (priorities 1–9, due dates over two months, some without)
are written straight into the real schema with sqlite3 executemany, together with 200,000
finished units of older orders. The 50,000 waiting units stand at cut (60 %), crimp (25 %) and test
(15 %), and a few hundred are in progress. Then queue pages are asked for through the dispatch
facade, as the station does (a new session each, the first page and deeper ones, every work
centre). Prints p50/p99; last line ``queue_page_p99_ms: <number>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bulk_rows

from engine.commands import versions
from engine.facade.dispatch import Dispatch
from engine.infra.db import Database

ACME = Path(__file__).resolve().parents[1] / "plants" / "acme-harness"
ORDERS = 2_000
UNITS_PER_ORDER = 25
FINISHED_ORDERS = 8_000  # 200,000 completed units of earlier orders
OPERATIONS = (("cut", 0.60), ("crimp", 0.25), ("test", 0.15))
RUNNING = 0.005
SAMPLES = 100  # per work centre
STAMP = "2026-11-03 10:00:00.000000"


def generate(path: Path, version: int, orders: int) -> int:
    """Write the work orders and their units; returns how many units are queued."""
    rng = random.Random(5)
    first_due = dt.date(2026, 11, 10)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    order_rows = []
    for order in range(1, FINISHED_ORDERS + orders + 1):
        open_order = order > FINISHED_ORDERS
        due = first_due + dt.timedelta(days=rng.randint(0, 60))
        order_rows.append(
            (
                order,
                f"WO{order:06d}",
                "released" if open_order else "completed",
                version,
                due.isoformat() if rng.random() > 0.1 else None,
                rng.randint(1, 9),
            )
        )
    con.executemany(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, released_at, revision, due_date, priority, "
        f"erp_reference, status_reason) VALUES (?, ?, 'HA-100', 'harness-a', {UNITS_PER_ORDER}, "
        f"?, ?, '{STAMP}', 'bench', '{STAMP}', 1, ?, ?, '', '')",
        order_rows,
    )
    weights = [w for _, w in OPERATIONS]
    queued = 0

    def items() -> Iterator[tuple[object, ...]]:
        nonlocal queued
        item = 0
        for order in range(1, FINISHED_ORDERS + orders + 1):
            for ordinal in range(1, UNITS_PER_ORDER + 1):
                item += 1
                if order <= FINISHED_ORDERS:
                    status, operation = "completed", None
                else:
                    (operation,) = rng.choices([op for op, _ in OPERATIONS], weights)
                    status = "in_progress" if rng.random() < RUNNING else "queued"
                    queued += status == "queued"
                yield (item, f"HA{item:08d}", order, ordinal, status, operation)

    for batch in bulk_rows.batches(items()):
        con.executemany(
            "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, "
            "status, status_reason, current_operation, operation_started, rework_counts, "
            "revision, config_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, 'HA-100', "
            f"'unit', 1, ?, '', ?, 0, '{{}}', 1, {version}, '{STAMP}', '{STAMP}')",
            batch,
        )
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    return queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=ORDERS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "queue.db"
        db = Database.from_url(f"sqlite:///{path}")
        db.create_all()
        version = versions.deploy(db, ACME, actor="bench", note="bench").version.id
        db.dispose()
        queued = generate(path, version, args.orders)
        print(f"{queued:,} units queued in {args.orders:,} open work orders")
        db = Database.from_url(f"sqlite:///{path}")
        dispatch = Dispatch(db)
        rng = random.Random(3)
        times: list[float] = []
        shown = 0
        for work_center in ("cutting", "crimping", "testing"):
            total = dispatch.queue(work_center).total  # warm the plant cache and the pages
            for sample in range(SAMPLES):
                offset = 0 if sample % 2 == 0 else rng.randrange(0, min(total, 2_000), 50)
                began = time.perf_counter()
                page = dispatch.queue(work_center, limit=50, offset=offset)
                times.append((time.perf_counter() - began) * 1000)
                shown += len(page.waiting)
            print(f"{work_center}: {total:,} waiting")
        db.dispose()
    p99 = bulk_rows.p99(times)
    print(
        f"{len(times)} pages of up to 50 ({shown / len(times):.0f} shown on average): "
        f"p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms"
    )
    print(f"queue_page_p99_ms: {p99:.2f}")


if __name__ == "__main__":
    main()
