"""The finite-capacity schedule of 500 open work orders × 10 operations on 20 work centres.

A generated plant (20 work centres, half of them with one machine; five products, each with a
10-operation routing over random work centres and cycle times of 20 s to 3 min) is deployed into
a temporary SQLite database by the engine. 500 released work orders of 1 to 40 units (priorities
1–9, due today to three weeks on) are written straight into the real schema, their 10,000-odd
units spread over the operations of their routing. Then the dispatch facade plans everything
from scratch several times, as the schedule page does. Prints the median and the worst; last line
``schedule_500wo_s: <worst seconds>`` (the issue's target is <= 1 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from engine.commands import versions
from engine.facade.dispatch import Dispatch
from engine.infra.db import Database

ORDERS = 500
OPERATIONS = 10
WORK_CENTERS = 20
PRODUCTS = 5
RUNS = 5
STAMP = "2026-11-03 10:00:00.000000"


def plant_files(rng: random.Random) -> dict[str, str]:
    """site.yaml, materials.yaml and one routing per product."""
    centers = "\n".join(
        f"  wc{c:02d}: {{description: Work centre {c}}}" for c in range(WORK_CENTERS)
    )
    machines = "\n".join(
        f"  m{c:02d}: {{description: Machine {c}, work_center: wc{c:02d}}}"
        for c in range(0, WORK_CENTERS, 2)
    )
    files = {
        "site.yaml": (
            "site: bench-schedule\ntimezone: Europe/Berlin\nroles:\n"
            "  supervisor: {description: Plans}\n"
            "calendar:\n  shifts:\n"  # two shifts with breaks, Monday to Friday: jobs pause
            '    early: {start: "06:00", end: "14:00", breaks: ["09:30-09:45", "12:00-12:30"]}\n'
            '    late: {start: "14:00", end: "22:00", breaks: ["18:00-18:30"]}\n'
            f"work_centers:\n{centers}\nequipment:\n{machines}\n"
        ),
        "materials.yaml": "products:\n"
        + "".join(
            f"  P{p}: {{description: Product {p}, tracking: serial, "
            f'number_pattern: "P{p}-{{seq:7}}", routing: r{p}}}\n'
            for p in range(PRODUCTS)
        ),
    }
    for p in range(PRODUCTS):
        operations = []
        for o in range(OPERATIONS):
            center = rng.randrange(WORK_CENTERS)
            machine = f"\n    equipment: m{center:02d}" if center % 2 == 0 else ""
            operations.append(
                f"  - id: op{o}\n    work_center: wc{center:02d}{machine}\n"
                f"    cycle_time: {rng.randint(20, 180)} s\n"
            )
        files[f"routings/r{p}.yaml"] = f"routing: r{p}\nproduct: P{p}\noperations:\n" + "".join(
            operations
        )
    return files


def generate(path: Path, version: int, orders: int, rng: random.Random) -> int:
    """Released work orders with their units spread over the routing; returns the unit count."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    item = 0
    for order in range(1, orders + 1):
        product = rng.randrange(PRODUCTS)
        quantity = rng.randint(1, 40)
        due = (dt.date.today() + dt.timedelta(days=rng.randint(0, 21))).isoformat()
        con.execute(
            "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
            "config_version_id, created_at, created_by, released_at, revision, due_date, "
            "priority, erp_reference, status_reason) VALUES (?, ?, ?, ?, ?, 'released', ?, ?, "
            "'bench', ?, 1, ?, ?, '', '')",
            (order, f"WO{order:05d}", f"P{product}", f"r{product}", quantity, version, STAMP,
             STAMP, due, rng.randint(1, 9)),
        )  # fmt: skip
        rows = []
        for ordinal in range(1, quantity + 1):
            item += 1
            rows.append((item, f"P{product}-{item:07d}", order, ordinal, f"P{product}",
                         f"op{rng.randrange(OPERATIONS // 2)}"))  # fmt: skip
        con.executemany(
            "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, "
            "status, status_reason, current_operation, operation_started, rework_counts, "
            "revision, config_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'unit', "
            f"1, 'queued', '', ?, 0, '{{}}', 1, {version}, '{STAMP}', '{STAMP}')",
            rows,
        )
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=ORDERS)
    args = parser.parse_args()
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schedule.db"
        db = Database.from_url(f"sqlite:///{path}")
        db.create_all()
        version = versions.deploy(db, plant_files(rng), actor="bench").version.id
        db.dispose()
        units = generate(path, version, args.orders, rng)
        db = Database.from_url(f"sqlite:///{path}")
        dispatch = Dispatch(db)
        times: list[float] = []
        for _ in range(RUNS):
            began = time.perf_counter()
            plan = dispatch.schedule()
            times.append(time.perf_counter() - began)
        db.dispose()
    jobs = sum(len(o.operations) for o in plan.orders)
    print(
        f"{args.orders} work orders ({units:,} units), {jobs:,} jobs on "
        f"{len(plan.resources)} resources, {len(plan.late)} late: median "
        f"{statistics.median(times):.3f} s, worst {max(times):.3f} s"
    )
    print(f"schedule_500wo_s: {max(times):.3f}")


if __name__ == "__main__":
    main()
