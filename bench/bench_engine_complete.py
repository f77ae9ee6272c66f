"""Completing an operation through the engine API, against plain sqlite3 writing the same rows.

Each completion enters 10 values, evaluates 3 gates, consumes 2 lots and captures 2 tags, in one
transaction, on SQLite with WAL and the engine's sync mode (synchronous=FULL by default; the
floor always runs the same mode as the engine, see ``--sqlite-url-option``). The floor does, with
the sqlite3 module in one transaction per operation, the reads that resolve the scanned item and
lot numbers and the audit chain's head, and writes exactly the rows the engine writes: the item
update (guarded by its revision) and the lot decrements (one statement each), the run,
measurements, tag captures, gate results, consumption links, the hash-chained audit rows and the
chain head. Engine and floor completions alternate in
the same run, so that both see the same load on a shared machine; the floor is also measured
alone, and both ratios are printed. Starts are not timed. With ``--postgres URL`` (or
FERRULE_BENCH_PG_URL) the engine figure is also measured on that PostgreSQL; without one, on a
throwaway server when PostgreSQL is installed.
Last line: ``engine_complete_vs_raw_sqlite: <ratio>`` (against the alternating floor; target <= 3).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from floor_audit import AUDIT_INSERT, Change, chain, connect, stamp, take
from sqlalchemy import update

from engine.access import people
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.base import utcnow
from engine.records.tables import User

OPERATIONS = 300
WARMUP = 20
FIELDS = [f"v{i}" for i in range(10)]

SITE = """\
site: bench
timezone: UTC
roles:
  operator: {description: Operator}
  supervisor: {description: Supervisor}
devices:
  cell:
    opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}
    tags:
      temperature: {node: "ns=2;s=T", unit: °C}
      force: {node: "ns=2;s=F", unit: N}
parts:
  BOLT: {tracking: lot, unit: pcs}
  NUT: {tracking: lot, unit: pcs}
products:
  WIDGET:
    tracking: serial
    number_pattern: "W{seq:7}"
    routing: widget
    bom:
      - {part: BOLT, qty: 2}
      - {part: NUT, qty: 2}
"""

ROUTING = (
    """\
routing: widget
product: WIDGET
operations:
  - id: assemble
    consume:
      - {part: BOLT, qty: 2}
      - {part: NUT, qty: 2}
    capture: [cell.temperature, cell.force]
    collect:
"""
    + "".join(
        f"      {name}: {{type: number, unit: mm, required: true, min: 0 mm, max: 100 mm}}\n"
        for name in FIELDS
    )
    + """\
    gates:
      - {name: g1, check: v0 between 9 mm and 11 mm, on_fail: hold}
      - {name: g2, check: v1 + v2 < 50 mm and cell.force < 2 kN, on_fail: nonconformance}
      - {name: g3, check: cell.temperature < 60 °C, on_fail: {rework: assemble, max: 2}}
"""
)


def setup(db: Database, units: int, site: str = SITE) -> tuple[Ferrule, list[str]]:
    """The plant (``site`` with the widget routing) deployed, its users and lots, and a work
    order of ``units`` released."""
    db.create_all()
    versions.deploy(db, {"site.yaml": site, "routings/widget.yaml": ROUTING}, actor="bench")
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        for name, role in (("op", "operator"), ("sup", "supervisor")):
            people.create_user(session, name, actor="bench")
            people.grant_role(session, name, role, actor="bench", plant=plant)
        session.execute(update(User).values(password_hash="x"))
        materials.receive_lot(session, plant, "BOLT", "B-1", 1e7, actor="bench")
        materials.receive_lot(session, plant, "NUT", "N-1", 1e7, actor="bench")
    tags = StaticTagSource({"cell.temperature": 41.5, "cell.force": 900.0})
    engine = Ferrule(db, tags)
    order = engine.create_work_order(actor="sup", product="WIDGET", quantity=units)
    return engine, list(engine.release_work_order(actor="sup", number=order.number).items)


def engine_times(
    engine: Ferrule, units: list[str], floor: sqlite3.Connection | None = None
) -> tuple[list[float], list[float]]:
    """Completion times of ``units`` (set up by :func:`setup`) after the first WARMUP; with
    ``floor``, each one is followed by the raw completion of the same unit number on it, so
    that both see the same machine load (the machine is shared: alternating keeps the ratio
    steady)."""
    data = {name: 10.0 + index * 0.5 for index, name in enumerate(FIELDS)}
    consume = [ConsumptionInput("BOLT", "B-1"), ConsumptionInput("NUT", "N-1")]
    times: list[float] = []
    raw: list[float] = []
    for index, unit in enumerate(units):
        engine.start_operation(actor="op", item=unit, operation="assemble")
        began = time.perf_counter()
        result = engine.complete_operation(
            actor="op", item=unit, operation="assemble", data=data, consume=consume
        )
        elapsed = time.perf_counter() - began
        assert result.route == "completed", result
        if floor is not None:
            began = time.perf_counter()
            raw_complete(floor, unit)
            if index >= WARMUP:
                raw.append(time.perf_counter() - began)
        if index >= WARMUP:
            times.append(elapsed)
    return times, raw


def raw_setup(path: Path, count: int, engine_url: str) -> sqlite3.Connection:
    """The engine's schema with ``count`` started units (each with its start attempt), on a
    connection set up as the engine's at ``engine_url``."""
    db = Database.from_url(f"sqlite:///{path}")
    db.create_all()
    db.dispose()
    con = connect(path, engine_url)
    now = stamp(utcnow())
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO config_versions (id, site, content_hash, files, assets, created_at, "
        "created_by, note) VALUES (1, 'bench', 'h', '{}', '{}', ?, 'b', '')",
        (now,),
    )
    con.execute(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, revision) "
        "VALUES (1, 'WO1', 'WIDGET', 'widget', ?, 'released', 1, ?, 'b', 1)",
        (count, now),
    )
    for lot_id, part, number in ((1, "BOLT", "B-1"), (2, "NUT", "N-1")):
        con.execute(
            "INSERT INTO lots (id, part, number, quantity, received_quantity, unit, status, "
            "supplier, hold_reason, received_at, received_by, revision) "
            "VALUES (?, ?, ?, 1e7, 1e7, 'pcs', 'available', '', '', ?, 'b', 1)",
            (lot_id, part, number, now),
        )
    con.executemany(
        "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, status, "
        "status_reason, current_operation, operation_started, start_attempt_id, rework_counts, "
        "revision, config_version_id, created_at, updated_at) VALUES (?, ?, 1, ?, 'WIDGET', "
        "'unit', 1, 'in_progress', '', 'assemble', 1, ?, '{}', 2, 1, ?, ?)",
        [(i, f"W{i:07d}", i, i, now, now) for i in range(1, count + 1)],
    )
    con.executemany(
        "INSERT INTO start_attempts (id, item_id, operation, actor, equipment, allowed, checks, "
        "at, config_version_id) VALUES (?, ?, 'assemble', 'op', NULL, 1, '[]', ?, 1)",
        [(i, i, now) for i in range(1, count + 1)],
    )
    con.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')")
    con.execute("COMMIT")
    return con


def raw_complete(con: sqlite3.Connection, number: str) -> None:
    """One completion with plain sqlite3: the reads that resolve the scanned numbers, then
    exactly the rows the engine writes (item and lot updates guarded by their revisions, the
    run, measurements, tag captures, gate results, consumption links, hash-chained audit rows
    and the chain head)."""
    now = utcnow()
    written = stamp(now)
    con.execute("BEGIN IMMEDIATE")
    item_id, revision, attempt, started, status, operation, rework = con.execute(
        "SELECT items.id, items.revision, items.start_attempt_id, start_attempts.at, "
        "items.status, items.current_operation, items.rework_counts FROM items "
        "LEFT JOIN start_attempts ON start_attempts.id = items.start_attempt_id "
        "WHERE items.number = ?",
        (number,),
    ).fetchone()
    lots = con.execute(
        "SELECT id, quantity FROM lots WHERE number IN ('B-1', 'N-1') ORDER BY id"
    ).fetchall()
    con.execute(
        "UPDATE items SET status = 'completed', status_reason = '', current_operation = NULL, "
        "operation_started = 0, start_attempt_id = NULL, revision = ?, updated_at = ? "
        "WHERE id = ? AND revision = ?",
        (revision + 1, written, item_id, revision),
    )
    left = {lot_id: take(con, lot_id, 2.0)[0] for lot_id, _ in lots}
    run = con.execute(
        "INSERT INTO operation_runs (item_id, operation, start_attempt_id, operator, equipment, "
        "started_at, completed_at, route, route_operation, route_reason, config_version_id) "
        "VALUES (?, 'assemble', ?, 'op', NULL, ?, ?, 'completed', NULL, '', 1)",
        (item_id, attempt, started, written),
    ).lastrowid
    con.executemany(
        "INSERT INTO measurements (run_id, field, value_num, value_text, unit) "
        "VALUES (?, ?, ?, ?, 'mm')",
        [(run, name, 10.0 + i * 0.5, f"{10.0 + i * 0.5:g}") for i, name in enumerate(FIELDS)],
    )
    con.executemany(
        "INSERT INTO tag_captures (run_id, tag, value_num, value_text, unit, quality, "
        "source_time) VALUES (?, ?, ?, ?, ?, 'good', ?)",
        [(run, "cell.temperature", 41.5, "41.5", "°C", written),
         (run, "cell.force", 900.0, "900", "N", written)],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO gate_results (run_id, gate, outcome, sampled, draw, checks) "
        "VALUES (?, ?, 'pass', 1, NULL, '[]')",
        [(run, g) for g in ("g1", "g2", "g3")],
    )
    con.executemany(
        "INSERT INTO consumptions (item_id, run_id, part, lot_id, component_item_id, quantity, "
        "unit, config_version_id) VALUES (?, ?, ?, ?, NULL, 2.0, 'pcs', 1)",
        [(item_id, run, "BOLT", lots[0][0]), (item_id, run, "NUT", lots[1][0])],
    )
    before = {"status": status, "current_operation": operation, "operation_started": True,
              "rework_counts": json.loads(rework), "revision": revision}  # fmt: skip
    after = {**before, "status": "completed", "current_operation": None,
             "operation_started": False, "revision": revision + 1}  # fmt: skip
    reason = f"consumed by {number} at 'assemble'"
    changes: list[Change] = [
        ("complete", "item", number, before, after, "completed 'assemble': completed")
    ]
    changes += [
        ("consume", "lot", str(lot_id), {"quantity": quantity, "status": "available"},
         {"quantity": left[lot_id], "status": "available"}, reason)
        for lot_id, quantity in lots
    ]  # fmt: skip
    seq, prev = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    rows, seq, prev = chain(seq, prev, now, "op", changes)
    con.executemany(AUDIT_INSERT, rows)
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    con.execute("COMMIT")


def raw_alone(path: Path, count: int, engine_url: str) -> list[float]:
    """The floor on its own, one completion after another."""
    con = raw_setup(path, count + WARMUP, engine_url)
    times: list[float] = []
    for index in range(1, count + WARMUP + 1):
        began = time.perf_counter()
        raw_complete(con, f"W{index:07d}")
        if index > WARMUP:
            times.append(time.perf_counter() - began)
    con.close()
    return times


def describe(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    p99 = sorted(times)[int(len(times) * 0.99) - 1]
    print(
        f"{label}: {len(times)} completions, median {median * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, {1 / statistics.mean(times):.0f} per s"
    )
    return median


@contextlib.contextmanager
def postgres_url(given: str | None) -> Iterator[str | None]:
    """The given PostgreSQL URL, else a throwaway server on 127.0.0.1 (the test suite's), else
    None when PostgreSQL is not installed."""
    if given:
        yield given
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "infra"))
    from postgres import PostgresServer, find_bindir  # noqa: PLC0415  (on sys.path only now)

    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server.url(server.create_database())
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("FERRULE_BENCH_PG_URL"))
    parser.add_argument("--count", type=int, default=OPERATIONS)
    parser.add_argument(
        "--sqlite-url-option",
        default="",
        help="appended to the engine's SQLite URL, e.g. '?synchronous=normal' (the floor follows)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'engine.db'}{args.sqlite_url_option}"
        floor = raw_setup(Path(folder) / "raw.db", args.count + WARMUP, url)
        db = Database.from_url(url)
        print(f"SQLite synchronous={db.synchronous} (engine and floor)")
        engine_runs, raw_runs = engine_times(*setup(db, args.count + WARMUP), floor)
        db.dispose()
        floor.close()
        alone_runs = raw_alone(Path(folder) / "alone.db", args.count, url)
    raw = describe("raw sqlite3 (alternating)", raw_runs)
    alone = describe("raw sqlite3 (alone)", alone_runs)
    engine = describe("engine on SQLite", engine_runs)
    print(f"engine vs raw sqlite3 alone: {engine / alone:.2f}")
    with postgres_url(args.postgres) as url:
        if url is None:
            print("engine on PostgreSQL: skipped (no PostgreSQL binaries, no --postgres URL)")
        else:
            pg = Database.from_url(url)
            pg_runs, _ = engine_times(*setup(pg, args.count + WARMUP))
            pg_median = describe("engine on PostgreSQL", pg_runs)
            print(f"engine on PostgreSQL vs raw sqlite3: {pg_median / raw:.2f}")
            pg.dispose()
    print(f"engine_complete_vs_raw_sqlite: {engine / raw:.2f}")


if __name__ == "__main__":
    main()
