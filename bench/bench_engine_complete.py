"""Completing an operation through the engine API, against plain sqlite3 writing the same rows.

Each completion enters 10 values, evaluates 3 gates, consumes 2 lots and captures 2 tags, in one
transaction, on SQLite with WAL (synchronous=NORMAL). The floor is the same rows (run,
measurements, captures, gate results, consumption links, lot and item updates, audit rows) written
with the sqlite3 module in one transaction per operation, measured in the same run. Starts are not
timed. With ``--postgres URL`` (or FERRULE_BENCH_PG_URL) the engine figure is also measured on
PostgreSQL. Last line: ``engine_complete_vs_raw_sqlite: <ratio>`` (target <= 3).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

from engine import materials, people, versions
from engine.base import utcnow
from engine.bom import ConsumptionInput
from engine.db import Database
from engine.service import Ferrule
from engine.tables import User
from engine.tagsource import StaticTagSource

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


def setup(db: Database, units: int) -> tuple[Ferrule, list[str]]:
    db.create_all()
    versions.deploy(db, {"site.yaml": SITE, "routings/widget.yaml": ROUTING}, actor="bench")
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


def engine_times(db: Database, count: int) -> list[float]:
    engine, units = setup(db, count + WARMUP)
    data = {name: 10.0 + index * 0.5 for index, name in enumerate(FIELDS)}
    consume = [ConsumptionInput("BOLT", "B-1"), ConsumptionInput("NUT", "N-1")]
    times: list[float] = []
    for index, unit in enumerate(units):
        engine.start_operation(actor="op", item=unit, operation="assemble")
        began = time.perf_counter()
        result = engine.complete_operation(
            actor="op", item=unit, operation="assemble", data=data, consume=consume
        )
        elapsed = time.perf_counter() - began
        assert result.route == "completed", result
        if index >= WARMUP:
            times.append(elapsed)
    return times


def raw_times(path: Path, count: int) -> list[float]:
    """The same rows with plain sqlite3: one transaction per operation."""
    db = Database.from_url(f"sqlite:///{path}")
    db.create_all()
    db.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")
    now = utcnow().isoformat()
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
    for lot_id, part in ((1, "BOLT"), (2, "NUT")):
        con.execute(
            "INSERT INTO lots (id, part, number, quantity, received_quantity, unit, status, "
            "supplier, hold_reason, received_at, received_by, revision) "
            "VALUES (?, ?, ?, 1e7, 1e7, 'pcs', 'available', '', '', ?, 'b', 1)",
            (lot_id, part, f"{part}-1", now),
        )
    con.executemany(
        "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, status, "
        "status_reason, current_operation, operation_started, rework_counts, revision, "
        "config_version_id, created_at, updated_at) VALUES (?, ?, 1, ?, 'WIDGET', 'unit', 1, "
        "'in_progress', '', 'assemble', 1, '{}', 1, 1, ?, ?)",
        [(i, f"W{i:07d}", i, now, now) for i in range(1, count + 1)],
    )
    con.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')")
    times: list[float] = []
    seq = 0
    for item in range(1, count + 1):
        began = time.perf_counter()
        stamp = utcnow().isoformat()
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "UPDATE items SET status='completed', current_operation=NULL, operation_started=0, "
            "revision=revision+1, updated_at=? WHERE id=? AND revision=1",
            (stamp, item),
        )
        for lot_id in (1, 2):
            con.execute(
                "UPDATE lots SET quantity=quantity-2, revision=revision+1 WHERE id=?", (lot_id,)
            )
        run = con.execute(
            "INSERT INTO operation_runs (item_id, operation, operator, started_at, completed_at, "
            "route, route_reason, config_version_id) "
            "VALUES (?, 'assemble', 'op', ?, ?, 'completed', '', 1)",
            (item, stamp, stamp),
        ).lastrowid
        con.executemany(
            "INSERT INTO measurements (run_id, field, value_num, value_text, unit) "
            "VALUES (?, ?, ?, ?, 'mm')",
            [(run, name, 10.0, "10") for name in FIELDS],
        )
        con.executemany(
            "INSERT INTO tag_captures (run_id, tag, value_num, value_text, unit, quality) "
            "VALUES (?, ?, 1.0, '1', 'N', 'good')",
            [(run, "cell.temperature"), (run, "cell.force")],
        )
        con.executemany(
            "INSERT INTO gate_results (run_id, gate, outcome, sampled, checks) "
            "VALUES (?, ?, 'pass', 1, '[]')",
            [(run, g) for g in ("g1", "g2", "g3")],
        )
        con.executemany(
            "INSERT INTO consumptions (item_id, run_id, part, lot_id, quantity, unit, "
            "config_version_id) VALUES (?, ?, ?, ?, 2, 'pcs', 1)",
            [(item, run, "BOLT", 1), (item, run, "NUT", 2)],
        )
        audit_rows = []
        prev = con.execute("SELECT hash FROM audit_head WHERE id=1").fetchone()[0]
        for entity in ("item", "lot", "lot"):
            seq += 1
            body = json.dumps({"seq": seq, "entity": entity, "at": stamp}, sort_keys=True)
            digest = hashlib.sha256((prev + body).encode()).hexdigest()
            audit_rows.append(
                (seq, stamp, "op", "complete", entity, str(item), "{}", "{}", "", prev, digest)
            )
            prev = digest
        con.executemany(
            "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, old, new, reason, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            audit_rows,
        )
        con.execute("UPDATE audit_head SET seq=?, hash=? WHERE id=1", (seq, prev))
        con.execute("COMMIT")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("FERRULE_BENCH_PG_URL"))
    parser.add_argument("--count", type=int, default=OPERATIONS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        raw = describe("raw sqlite3", raw_times(Path(folder) / "raw.db", args.count))
        db = Database.from_url(f"sqlite:///{Path(folder) / 'engine.db'}")
        engine = describe("engine on SQLite", engine_times(db, args.count))
        db.dispose()
    if args.postgres:
        pg = Database.from_url(args.postgres)
        describe("engine on PostgreSQL", engine_times(pg, args.count))
        pg.dispose()
    print(f"engine_complete_vs_raw_sqlite: {engine / raw:.2f}")


if __name__ == "__main__":
    started = dt.datetime.now()
    main()
