"""The floor for bench_http_complete.py: a minimal Flask endpoint that writes the same rows as a
Ferrule completion (a run, two measurements, a consumption, a gate result, a lot and an item
update, three audit rows) with plain sqlite3 in one transaction, under the same gunicorn settings.
The database path comes from the environment variable FLOOR_DB."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

from flask import Flask, Response, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, number TEXT UNIQUE, status TEXT,
  current_operation TEXT, revision INTEGER);
CREATE TABLE IF NOT EXISTS lots (id INTEGER PRIMARY KEY, number TEXT UNIQUE, quantity REAL);
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, item_id INTEGER, operation TEXT,
  operator TEXT, completed_at REAL);
CREATE TABLE IF NOT EXISTS measurements (id INTEGER PRIMARY KEY, run_id INTEGER, field TEXT,
  value REAL, unit TEXT);
CREATE INDEX IF NOT EXISTS ix_measurements_run ON measurements (run_id);
CREATE TABLE IF NOT EXISTS consumptions (id INTEGER PRIMARY KEY, run_id INTEGER, item_id INTEGER,
  lot_id INTEGER, quantity REAL);
CREATE INDEX IF NOT EXISTS ix_consumptions_lot ON consumptions (lot_id);
CREATE TABLE IF NOT EXISTS gate_results (id INTEGER PRIMARY KEY, run_id INTEGER, gate TEXT,
  outcome TEXT);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at REAL, actor TEXT, action TEXT,
  entity TEXT, new TEXT);
"""

app = Flask(__name__)
_local = threading.local()


def _db() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "db", None)
    if connection is None:
        connection = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, timeout=5)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        _local.db = connection
    return connection


@app.post("/complete/<number>")
def complete(number: str) -> Response:
    body = request.get_json()
    db = _db()
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        item_id, revision = db.execute(
            "SELECT id, revision FROM items WHERE number = ?", (number,)
        ).fetchone()
        run_id = db.execute(
            "INSERT INTO runs (item_id, operation, operator, completed_at) VALUES (?, ?, ?, ?)",
            (item_id, "cut", "anna", now),
        ).lastrowid
        db.executemany(
            "INSERT INTO measurements (run_id, field, value, unit) VALUES (?, ?, ?, ?)",
            [(run_id, k, v, "mm") for k, v in body["data"].items()],
        )
        lot_id = db.execute("SELECT id FROM lots WHERE number = ?", ("W-001",)).fetchone()[0]
        db.execute(
            "INSERT INTO consumptions (run_id, item_id, lot_id, quantity) VALUES (?, ?, ?, ?)",
            (run_id, item_id, lot_id, 0.5),
        )
        db.execute("UPDATE lots SET quantity = quantity - 0.5 WHERE id = ?", (lot_id,))
        db.execute(
            "INSERT INTO gate_results (run_id, gate, outcome) VALUES (?, ?, ?)",
            (run_id, "cut length", "pass"),
        )
        db.execute(
            "UPDATE items SET current_operation = 'crimp', revision = ? "
            "WHERE id = ? AND revision = ?",
            (revision + 1, item_id, revision),
        )
        db.executemany(
            "INSERT INTO audit (at, actor, action, entity, new) VALUES (?, ?, ?, ?, ?)",
            [(now, "anna", a, "item", json.dumps(body)) for a in ("complete", "move", "lot")],
        )
        db.execute("COMMIT")
    except Exception:
        db.execute("ROLLBACK")
        raise
    return jsonify({"item": number, "next_operation": "crimp"})


def create(path: str, units: list[str]) -> None:
    """The floor's database with ``units`` ready to complete."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO items (number, status, current_operation, revision) VALUES (?, ?, ?, 0)",
        [(u, "in_progress", "cut") for u in units],
    )
    db.execute("INSERT INTO lots (number, quantity) VALUES ('W-001', 1000000)")
    db.execute("COMMIT")
    db.close()
