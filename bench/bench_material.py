"""Receiving lots at goods-in, and completing operations that consume lots, with a realistic
inventory: 500 parts and 10,000 lots on hand.

The plant is bench_engine_complete's widget line (each completion enters 10 values, evaluates 3
gates, consumes 2 lots and captures 2 tags) with 498 more parts (a third with a shelf life, a
fifth quarantined on receipt), four locations and strict first expiry, first out; 10,000 lots
are on hand before timing starts, about 20 of each part, the two the widget draws among them.
Each timed receipt is one call of ``Materials.receive`` as the goods-in page and the ERP API
make it: its own transaction, the clerk's role check, the part's unit, location and dates, the
lot insert, its audit row and seals; every fifth one carries a 50 kB certificate of analysis,
stored content-addressed. Then each timed completion runs through the engine API, alternating
with bench_engine_complete's raw-sqlite floor (the same rows written with plain sqlite3). SQLite
with WAL and the engine's sync mode, in a temporary folder. FERRULE_BENCH_SCALE=0.1 stocks and
times a tenth as many.
Prints ``material_receive_per_s``; last line ``material_complete_vs_raw_sqlite: <ratio>``
(target <= 3).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import bench_engine_complete as complete
import bulk_rows
from sqlalchemy import update

from engine.access import people
from engine.commands import materials, versions
from engine.commands.lots import Receipt
from engine.facade.materials import Materials
from engine.facade.production import Ferrule
from engine.infra.attachments import Upload
from engine.infra.db import Database
from engine.records.tables import User

PARTS = 500
LOTS = 10_000
RECEIPTS = 500
WARMUP = 20
CERTIFICATE_EVERY = 5
LOCATIONS = ("goods-in", "quarantine-cage", "stores", "line-1")


def _site() -> str:
    """The widget line's site with the inventory: its BOLT and NUT never expire, so that under
    strict FEFO the lots it draws are the first out."""
    lines = [
        "inventory:",
        f"  locations: [{', '.join(LOCATIONS)}]",
        "  fefo: strict",
        "parts:",
    ]
    for index in range(2, PARTS):
        shelf = ", shelf_life: 365 d" if index % 3 == 0 else ""
        quarantine = ", quarantine: true" if index % 5 == 0 else ""
        unit = "kg" if index % 2 else "pcs"
        lines.append(f"  P-{index:04d}: {{tracking: lot, unit: {unit}{shelf}{quarantine}}}")
    site = complete.SITE.replace("parts:\n", "\n".join(lines) + "\n", 1)
    return site.replace("devices:", "  stores: {description: Goods-in}\ndevices:", 1)


def _part(index: int) -> str:
    return ("BOLT", "NUT")[index] if index < 2 else f"P-{index:04d}"


def setup(db: Database, lots: int, units: int) -> tuple[Materials, Ferrule, list[str]]:
    """The plant deployed, a clerk, ``lots`` lots on hand, and a work order of ``units``."""
    engine, items = complete.setup(db, units, site=_site())
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        people.create_user(session, "clerk", actor="bench")
        people.grant_role(session, "clerk", "stores", actor="bench", plant=plant)
        session.execute(update(User).values(password_hash="x"))
    for start in range(0, lots, 1000):
        with db.transaction() as session:
            for index in range(start, min(lots, start + 1000)):
                materials.receive_lot(
                    session, plant, _part(index % PARTS), f"STOCK-{index:06d}",
                    100.0 + index % 50, actor="bench", location=LOCATIONS[index % 4],
                )  # fmt: skip
    return Materials(db), engine, items


def receive_times(stores: Materials, receipts: int) -> list[float]:
    """Seconds per receipt, after :data:`WARMUP` untimed ones."""
    certificate = bytes(range(256)) * 200  # 51,200 bytes
    times: list[float] = []
    for index in range(receipts + WARMUP):
        receipt = Receipt(
            part=_part((index * 7) % PARTS),
            supplier_lot=f"SUP-{index:06d}",
            quantity=25.0,
            supplier="Bench Supplies",
            location=LOCATIONS[index % 4],
        )
        attached = (
            Upload(f"coa-{index}.pdf", "application/pdf", certificate + index.to_bytes(4))
            if index % CERTIFICATE_EVERY == 0
            else None
        )
        began = time.perf_counter()
        stores.receive(actor="clerk", receipt=receipt, certificate=attached)
        if index >= WARMUP:
            times.append(time.perf_counter() - began)
    return times


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    lots, receipts = bulk_rows.scaled(LOTS), bulk_rows.scaled(RECEIPTS)
    completions = bulk_rows.scaled(complete.OPERATIONS)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        db = Database.from_url(url)
        stores, engine, units = setup(db, lots, completions + complete.WARMUP)
        receipt_times = receive_times(stores, receipts)
        floor = complete.raw_setup(Path(folder) / "raw.db", completions + complete.WARMUP, url)
        engine_runs, raw_runs = complete.engine_times(engine, units, floor)
        rows = stores.inventory()
        floor.close()
        db.dispose()
    on_hand = sum(len(row.lots) for row in rows)
    median_ms = statistics.median(receipt_times) * 1000
    p99_ms = bulk_rows.p99(receipt_times) * 1000
    print(f"inventory: {on_hand} lots of {PARTS} parts after the run")
    print(
        f"receive latency: median {median_ms:.2f} ms, p99 {p99_ms:.2f} ms "
        f"({len(receipt_times)} receipts)"
    )
    print(f"material_receive_per_s: {len(receipt_times) / sum(receipt_times):.1f}")
    raw = complete.describe("raw sqlite3 (alternating)", raw_runs)
    engine_median = complete.describe(f"engine on SQLite, {lots:,} lots on hand", engine_runs)
    print(f"material_complete_vs_raw_sqlite: {engine_median / raw:.2f}")


if __name__ == "__main__":
    main()
