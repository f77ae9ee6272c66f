"""The impact list of a failed calibration on a generated database of 1,000,000 units.

A year of production on a harness line is written straight into the real schema (created by the
engine) with sqlite3 executemany, and cached under var/bench/: 1,000,000 units, each cut on one of 4
cutters, crimped on one of 8 crimp presses and tested on one of 4 testers (3,000,000 operation
runs, in time order, about 2 a minute per machine), the last 2 % still in progress. Every
machine has a passed calibration every 180 days; then failed calibrations are recorded at random
moments, each 7 to 180 days after its machine's last passed one, so an impact list covers from
a few thousand to about 60,000 units. Each of ~200 failures gets its impact list (counts over the
whole window and the newest 200 items) through the engine's query API, as the equipment page
asks for it. Prints p50/p99; last line ``calibration_impact_p99_ms: <number>`` (target <= 100 on
SQLite). FERRULE_BENCH_SCALE=0.05 runs on a twentieth of the units.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import bulk_rows
from sqlalchemy import select

from engine.infra.db import Database
from engine.queries import impact
from engine.records.equipment_care import CalibrationRecord

UNITS = 1_000_000
SHAPE = "v1"  # change when the generated data changes
TABLES = ("config_versions", "equipment", "equipment_calibrations", "items", "operation_runs")
YEAR = dt.timedelta(days=365)
BEGIN = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
MACHINES = {"cut": ("cutter", 4), "crimp": ("crimp-press", 8), "test": ("tester", 4)}
CALIBRATION_DAYS = 180
SAMPLES = 200
IN_PROGRESS = 0.02
STAMP = "2026-01-01 00:00:00.000000"


def stamp(moment: dt.datetime) -> str:
    """A timestamp as SQLAlchemy writes it to SQLite."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def machine_names() -> list[str]:
    return [f"{prefix}-{n}" for prefix, count in MACHINES.values() for n in range(1, count + 1)]


def generate(path: Path, units: int, rng: random.Random) -> None:
    """Fill the schema: units, their runs, passed calibrations and the failures to sample."""
    con = bulk_rows.bulk_load(path, STAMP)
    con.executemany(
        "INSERT INTO equipment (name, state, calibration_due, maintenance_due, state_since, "
        "updated_at) VALUES (?, 'idle', NULL, NULL, ?, ?)",
        [(name, STAMP, STAMP) for name in machine_names()],
    )
    orders = units // 100
    con.executemany(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, revision) "
        "VALUES (?, ?, 'HA-100', 'harness-a', 100, 'released', 1, ?, 'bench', 1)",
        [(wo, f"WO{wo:06d}", STAMP) for wo in range(1, orders + 1)],
    )
    step = YEAR / units
    done_until = int(units * (1 - IN_PROGRESS))

    def status(item: int) -> tuple[str, str | None]:
        return ("completed", None) if item <= done_until else ("queued", "test")

    for batch in bulk_rows.batches(
        (item, f"HA{item:07d}", (item - 1) // 100 + 1, (item - 1) % 100 + 1, *status(item))
        for item in range(1, units + 1)
    ):
        con.executemany(
            "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, "
            "status, status_reason, current_operation, operation_started, rework_counts, revision, "
            f"config_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, 'HA-100', 'unit', 1, "
            f"?, '', ?, 0, '{{}}', 1, 1, '{STAMP}', '{STAMP}')",
            batch,
        )

    def runs() -> Iterator[tuple[object, ...]]:
        for item in range(1, units + 1):
            made = BEGIN + step * item
            for number, (operation, (prefix, count)) in enumerate(MACHINES.items()):
                if operation == "test" and item > done_until:
                    continue
                at = made + dt.timedelta(minutes=10 * number)
                machine = f"{prefix}-{rng.randint(1, count)}"
                yield (item, operation, machine, stamp(at - dt.timedelta(minutes=2)), stamp(at))

    for batch in bulk_rows.batches(runs()):
        con.executemany(
            "INSERT INTO operation_runs (item_id, operation, operator, equipment, started_at, "
            "completed_at, route, route_reason, config_version_id) "
            "VALUES (?, ?, 'olga', ?, ?, ?, 'next', '', 1)",
            batch,
        )
    calibrations(con, rng)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def calibrations(con: sqlite3.Connection, rng: random.Random) -> None:
    """Passed calibrations every 180 days on every machine, then the failures to sample."""
    rows: list[tuple[object, ...]] = []
    next_id = 1
    for name in machine_names():
        day = BEGIN.date() - dt.timedelta(days=rng.randint(0, CALIBRATION_DAYS - 1))
        while day <= (BEGIN + YEAR).date():
            rows.append((next_id, name, "pass", day.isoformat(), stamp(BEGIN)))
            next_id += 1
            day += dt.timedelta(days=CALIBRATION_DAYS)
    passes = [(str(r[1]), dt.date.fromisoformat(str(r[3]))) for r in rows]
    failures = 0
    while failures < SAMPLES:
        name, passed_on = rng.choice(passes)
        at = dt.datetime.combine(passed_on, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(
            days=rng.randint(7, CALIBRATION_DAYS - 1)
        )
        if not BEGIN + dt.timedelta(days=30) < at < BEGIN + YEAR:
            continue
        rows.append((next_id, name, "fail", at.date().isoformat(), stamp(at)))
        failures += 1
        next_id += 1
    con.executemany(
        "INSERT INTO equipment_calibrations (id, equipment, result, performed_on, performed_by, "
        "certificate, certificate_sha256, measured, note, next_due, recorded_by, recorded_at, "
        "config_version_id) VALUES (?, ?, ?, ?, 'Metrology lab', 'CAL', '', '{}', '', NULL, "
        "'quinn', ?, 1)",
        rows,
    )


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    units = bulk_rows.scaled(UNITS)
    path = bulk_rows.cached_database(
        "impact",
        f"{SHAPE}-{units}",
        TABLES,
        lambda path: generate(path, units, random.Random(7)),
    )
    db = Database.from_url(f"sqlite:///{path}")
    times: list[float] = []
    cpu: list[float] = []  # a machine shared with other work inflates it less
    sizes: list[int] = []
    with db.session() as session:
        failures = session.scalars(
            select(CalibrationRecord.id)
            .where(CalibrationRecord.result == "fail")
            .order_by(CalibrationRecord.id)
        ).all()
        for calibration_id in failures:
            started, started_cpu = time.perf_counter(), time.process_time()
            window = impact.calibration_window(session, calibration_id, dt.UTC)
            found = impact.impact_list(session, calibration_id, window)
            cpu.append((time.process_time() - started_cpu) * 1000)
            times.append((time.perf_counter() - started) * 1000)
            sizes.append(found.total)
    db.dispose()
    p99 = bulk_rows.p99(times)
    print(
        f"impact lists: {len(times)} over {units:,} units, p50 {statistics.median(times):.2f} ms, "
        f"p99 {p99:.2f} ms (CPU p99 {bulk_rows.p99(cpu):.2f} ms), units per list: median "
        f"{statistics.median(sizes):,.0f}, "
        f"max {max(sizes):,}"
    )
    print(f"calibration_impact_p99_ms: {p99:.2f}")


if __name__ == "__main__":
    main()
