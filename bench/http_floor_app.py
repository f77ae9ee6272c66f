"""The floor for bench_http_complete.py: a minimal Flask endpoint that completes 'cut' with plain
sqlite3 in one transaction, on Ferrule's own schema, writing exactly the rows a Ferrule
completion writes: the item update (guarded by its revision) and the lot decrement (one
statement), the run, two measurements, the gate result, the consumption link, two hash-chained
audit rows and the chain head; after the reads that resolve the item and lot numbers and the
chain's head. No sign-in check, no rules: that is Ferrule's overhead, measured against this. Runs
under the same gunicorn settings and SQLite sync mode as Ferrule (from FERRULE_DATABASE_URL); the
database path comes from the environment variable FLOOR_DB."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading

from flask import Flask, Response, jsonify, request
from floor_audit import AUDIT_INSERT, Change, chain, connect, stamp, take

from engine.infra.db import Database, configured_url

OPERATION, NEXT, GATE, PART, LOT = "cut", "crimp", "cut length", "WIRE-18-RD", "W-001"
TAKEN, LOT_UNIT, FIELD_UNIT, ACTOR = 0.5, "m", "mm", "anna"

app = Flask(__name__)
_local = threading.local()


def _db() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "db", None)
    if connection is None:
        connection = connect(os.environ["FLOOR_DB"], configured_url())
        _local.db = connection
    return connection


@app.post("/complete/<number>")
def complete(number: str) -> Response:
    body = request.get_json()
    db = _db()
    now = dt.datetime.now(dt.UTC)
    written = stamp(now)
    db.execute("BEGIN IMMEDIATE")
    try:
        item_id, revision, attempt, started, rework = db.execute(
            "SELECT items.id, items.revision, items.start_attempt_id, start_attempts.at, "
            "items.rework_counts FROM items "
            "LEFT JOIN start_attempts ON start_attempts.id = items.start_attempt_id "
            "WHERE items.number = ?",
            (number,),
        ).fetchone()
        lot_id, quantity = db.execute(
            "SELECT id, quantity FROM lots WHERE number = ? AND part = ?", (LOT, PART)
        ).fetchone()
        db.execute(
            "UPDATE items SET status = 'queued', current_operation = ?, operation_started = 0, "
            "start_attempt_id = NULL, revision = ?, updated_at = ? WHERE id = ? AND revision = ?",
            (NEXT, revision + 1, written, item_id, revision),
        )
        left, _status = take(db, lot_id, TAKEN)
        run_id = db.execute(
            "INSERT INTO operation_runs (item_id, operation, start_attempt_id, operator, "
            "equipment, started_at, completed_at, route, route_operation, route_reason, "
            "config_version_id) VALUES (?, ?, ?, ?, NULL, ?, ?, 'next', ?, '', 1)",
            (item_id, OPERATION, attempt, ACTOR, started, written, NEXT),
        ).lastrowid
        db.executemany(
            "INSERT INTO measurements (run_id, field, value_num, value_text, unit) "
            "VALUES (?, ?, ?, ?, ?)",
            [(run_id, k, float(v), f"{v:g}", FIELD_UNIT) for k, v in body["data"].items()],
        )
        db.execute(
            "INSERT INTO gate_results (run_id, gate, outcome, sampled, draw, checks) "
            "VALUES (?, ?, 'pass', 1, NULL, '[]')",
            (run_id, GATE),
        )
        db.execute(
            "INSERT INTO consumptions (item_id, run_id, part, lot_id, component_item_id, "
            "quantity, unit, config_version_id) VALUES (?, ?, ?, ?, NULL, ?, ?, 1)",
            (item_id, run_id, PART, lot_id, TAKEN, LOT_UNIT),
        )
        before = {"status": "in_progress", "current_operation": OPERATION,
                  "operation_started": True, "rework_counts": json.loads(rework),
                  "revision": revision}  # fmt: skip
        after = {**before, "status": "queued", "current_operation": NEXT,
                 "operation_started": False, "revision": revision + 1}  # fmt: skip
        changes: list[Change] = [
            ("complete", "item", number, before, after, f"completed '{OPERATION}': next"),
            ("consume", "lot", str(lot_id), {"quantity": quantity, "status": "available"},
             {"quantity": left, "status": "available"},
             f"consumed by {number} at '{OPERATION}'"),
        ]  # fmt: skip
        seq, prev = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        rows, seq, prev = chain(seq, prev, now, ACTOR, changes)
        db.executemany(AUDIT_INSERT, rows)
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        db.execute("COMMIT")
    except Exception:
        db.execute("ROLLBACK")
        raise
    return jsonify({"item": number, "next_operation": NEXT, "run_id": run_id})


def create(path: str, units: list[str]) -> None:
    """The floor's database: Ferrule's schema with ``units`` started on 'cut' (bench setup)."""

    database = Database.from_url(f"sqlite:///{path}")
    database.create_all()
    database.dispose()
    now = stamp(dt.datetime.now(dt.UTC))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO config_versions (id, site, content_hash, files, assets, created_at, "
        "created_by, note) VALUES (1, 'floor', 'h', '{}', '{}', ?, 'b', '')",
        (now,),
    )
    db.execute(
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        "config_version_id, created_at, created_by, revision) "
        "VALUES (1, 'WO1', 'HA-100', 'ha-100', ?, 'released', 1, ?, 'b', 1)",
        (len(units), now),
    )
    db.execute(
        "INSERT INTO lots (id, part, number, quantity, received_quantity, unit, status, "
        "supplier, hold_reason, received_at, received_by, revision) "
        "VALUES (1, ?, ?, 1000000, 1000000, ?, 'available', '', '', ?, 'b', 1)",
        (PART, LOT, LOT_UNIT, now),
    )
    db.executemany(
        "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, status, "
        "status_reason, current_operation, operation_started, start_attempt_id, rework_counts, "
        "revision, config_version_id, created_at, updated_at) VALUES (?, ?, 1, ?, 'HA-100', "
        "'unit', 1, 'in_progress', '', ?, 1, ?, '{}', 2, 1, ?, ?)",
        [(i, u, i, OPERATION, i, now, now) for i, u in enumerate(units, start=1)],
    )
    db.executemany(
        "INSERT INTO start_attempts (id, item_id, operation, actor, equipment, allowed, checks, "
        "at, config_version_id) VALUES (?, ?, ?, ?, NULL, 1, '[]', ?, 1)",
        [(i, i, OPERATION, ACTOR, now) for i in range(1, len(units) + 1)],
    )
    db.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')")
    db.execute("COMMIT")
    db.close()
