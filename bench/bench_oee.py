"""OEE of one work centre over 30 days of 1 Hz state changes.

A generated plant (Europe/Berlin, two shifts Monday to Friday with breaks; a work centre of two
presses; one routing with a 25 s cycle time) is deployed into a temporary SQLite database by the
engine. Each press then gets 30 days of state changes, one a second (running every other second,
set-up or idle in between, a 2 h breakdown a day), written straight into the real schema, and its
quarter-hour buckets are built by the engine from that history (:func:`rebuild_buckets`, the same
arithmetic the engine does as each change is recorded). Units are completed on the presses every
75 s in shift time (one in 40 reworked, one in 200 scrapped), and every breakdown is coded. The
performance facade then answers the work centre's OEE over the 30 days repeatedly, as the OEE page
and API do, after a first query that sums the month's completions into production buckets.
Prints the median and p99; last line ``oee_30d_p99_ms: <p99 ms>`` (target <= 100 ms)."""

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

from engine.commands import downtime, versions
from engine.facade.performance import Performance
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database

DAYS = 30
PRESSES = ("press-1", "press-2")
RUNS = 200
END = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)  # a Monday, 01:00 in Berlin
SITE = """site: bench-oee
timezone: Europe/Berlin
calendar:
  shifts:
    early: {start: "06:00", end: "14:00", breaks: ["09:30-09:45", "12:00-12:30"]}
    late: {start: "14:00", end: "22:00", breaks: ["18:00-18:30"]}
work_centers:
  pressing:
    description: Presses
    downtime:
      planned:
        maintenance: [preventive maintenance]
      unplanned:
        breakdown: [press fault]
equipment:
  press-1: {description: Press 1, work_center: pressing}
  press-2: {description: Press 2, work_center: pressing}
"""
MATERIALS = """products:
  P1: {description: Pressed part, tracking: serial, number_pattern: "P1-{seq:7}", routing: r1}
"""
ROUTING = """routing: r1
product: P1
operations:
  - id: press
    work_center: pressing
    equipment: press-1
    cycle_time: 25 s
"""


def stamp(at: dt.datetime) -> str:
    """A UTC time as the schema stores it on SQLite."""
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def states(
    rng: random.Random, press: str, start: dt.datetime, days: int
) -> Iterator[tuple[str, str, str]]:
    """A change every second (running, then a set-up or idle blip) except for a 2 h breakdown
    each day: rows ``(equipment, state, at)``."""
    previous = ""
    for second in range(days * 86_400):
        daily = second % 86_400
        if 36_000 <= daily < 43_200:  # 10:00-12:00 UTC
            state = "down"
        elif second % 2:
            state = "running"
        else:
            state = "setup" if rng.random() < 0.3 else "idle"
        if state != previous:
            previous = state
            yield press, state, stamp(start + dt.timedelta(seconds=second))


def generate(path: Path, version: int, start: dt.datetime, days: int, rng: random.Random) -> int:
    """State changes, units, runs and codings; returns the number of state changes."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    count = 0
    for press in PRESSES:
        con.executemany(
            "INSERT INTO equipment_state_changes (equipment, previous, state, at, source, actor, "
            "reason, cause) VALUES (?, '', ?, ?, 'rules', 'bench', '', 'state_rule')",
            states(rng, press, start, days),
        )
        count += con.execute(
            "SELECT count(*) FROM equipment_state_changes WHERE equipment = ?", (press,)
        ).fetchone()[0]
        con.execute(
            "UPDATE equipment SET (state, state_since) = (SELECT state, at FROM "
            "equipment_state_changes WHERE equipment = ? ORDER BY id DESC LIMIT 1) WHERE name = ?",
            (press, press),
        )
        for day in range(days):
            down = start + dt.timedelta(days=day, hours=10)
            con.execute(
                'INSERT INTO downtime_codings (equipment, start, "end", reason, planned, comment, '
                "coded_by, coded_at) VALUES (?, ?, ?, 'unplanned/breakdown/press fault', 0, '', "
                "'bench', ?)",
                (press, stamp(down), stamp(down + dt.timedelta(hours=2)), stamp(END)),
            )
    con.execute(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, released_at, revision, due_date, priority, "
        "erp_reference, status_reason) VALUES (1, 'WO1', 'P1', 'r1', 1, 'released', ?, ?, "
        "'bench', ?, 1, NULL, 5, '', '')",
        (version, stamp(start), stamp(start)),
    )
    item = run = 0
    at = start
    while at < start + dt.timedelta(days=days):
        if at.weekday() < 5 and 5 <= at.hour < 21:
            for press in PRESSES:
                item += 1
                run += 1
                route = "scrap" if item % 200 == 0 else "rework" if item % 40 == 0 else "next"
                con.execute(
                    "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, "
                    "quantity, status, status_reason, current_operation, operation_started, "
                    "rework_counts, revision, config_version_id, created_at, updated_at) VALUES "
                    "(?, ?, 1, ?, 'P1', 'unit', 1, 'queued', '', NULL, 0, '{}', 1, ?, ?, ?)",
                    (item, f"P1-{item:07d}", item, version, stamp(at), stamp(at)),
                )
                con.execute(
                    "INSERT INTO operation_runs (id, item_id, operation, start_attempt_id, "
                    "operator, equipment, started_at, completed_at, route, route_operation, "
                    "route_reason, config_version_id) VALUES (?, ?, 'press', NULL, 'bench', ?, "
                    "?, ?, ?, NULL, '', ?)",
                    (run, item, press, stamp(at - dt.timedelta(seconds=25)), stamp(at), route,
                     version),
                )  # fmt: skip
        at += dt.timedelta(seconds=75)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args()
    rng = random.Random(22400)
    start = END - dt.timedelta(days=args.days)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "oee.db"
        db = Database.from_url(f"sqlite:///{path}")
        db.create_all()
        files = {"site.yaml": SITE, "materials.yaml": MATERIALS, "routings/r1.yaml": ROUTING}
        version = versions.deploy(db, files, actor="bench").version.id
        db.dispose()
        changes = generate(path, version, start, args.days, rng)
        db = Database.from_url(f"sqlite:///{path}")
        began = time.perf_counter()
        with db.transaction() as session:
            for press in PRESSES:
                downtime.rebuild_buckets(session, press)
        built = time.perf_counter() - began
        performance = Performance(db, StaticTagSource(), clock=lambda: END)
        began = time.perf_counter()
        performance.oee(work_center="pressing", start=start, end=END)  # sums the completions
        first = time.perf_counter() - began
        times: list[float] = []
        for _ in range(RUNS):
            began = time.perf_counter()
            report = performance.oee(work_center="pressing", start=start, end=END)
            times.append((time.perf_counter() - began) * 1000)
        db.dispose()
    p99 = statistics.quantiles(times, n=100)[98]
    kpis = report.kpis
    print(
        f"{changes:,} state changes on {len(PRESSES)} presses over {args.days} days "
        f"(state buckets built in {built:.1f} s, completions summed by the first query in "
        f"{first:.1f} s); OEE {kpis.oee_index or 0:.3f} (availability "
        f"{kpis.availability or 0:.3f}, effectiveness {kpis.effectiveness or 0:.3f}, quality "
        f"{kpis.quality_ratio or 0:.3f}); median {statistics.median(times):.1f} ms, "
        f"p99 {p99:.1f} ms"
    )
    print(f"oee_30d_p99_ms: {p99:.1f}")


if __name__ == "__main__":
    main()
