"""Receiving lots at goods-in through the materials facade, into a realistic inventory.

The plant declares 500 parts (a third with a shelf life, a fifth quarantined on receipt) and
four locations; 10,000 lots of them are on hand before timing starts. Each timed receipt is one
call of ``Materials.receive`` as the goods-in page and the ERP API make it: its own transaction,
the clerk's role check, the part's unit, location and dates, the lot insert, its audit row and
seals; every fifth one carries a 50 kB certificate of analysis, stored content-addressed. SQLite
with WAL and the engine's sync mode, in a temporary folder.
Last line: ``material_receive_per_s: <receipts per second>``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

from engine.access import people
from engine.commands import materials, versions
from engine.commands.lots import Receipt
from engine.facade.materials import Materials
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
    lines = [
        "site: bench",
        "timezone: UTC",
        "roles:",
        "  stores: {description: Goods-in}",
        "inventory:",
        f"  locations: [{', '.join(LOCATIONS)}]",
        "  fefo: propose",
        "parts:",
    ]
    for index in range(PARTS):
        shelf = ", shelf_life: 365 d" if index % 3 == 0 else ""
        quarantine = ", quarantine: true" if index % 5 == 0 else ""
        unit = "kg" if index % 2 else "pcs"
        lines.append(f"  P-{index:04d}: {{tracking: lot, unit: {unit}{shelf}{quarantine}}}")
    return "\n".join(lines) + "\n"


def setup(db: Database) -> Materials:
    """The plant deployed, a clerk, and :data:`LOTS` lots on hand."""
    db.create_all()
    versions.deploy(db, {"site.yaml": _site()}, actor="bench")
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        people.create_user(session, "clerk", actor="bench")
        people.grant_role(session, "clerk", "stores", actor="bench", plant=plant)
        session.execute(update(User).values(password_hash="x"))
    for start in range(0, LOTS, 1000):
        with db.transaction() as session:
            for index in range(start, start + 1000):
                materials.receive_lot(
                    session, plant, f"P-{index % PARTS:04d}", f"STOCK-{index:06d}",
                    100.0 + index % 50, actor="bench", location=LOCATIONS[index % 4],
                )  # fmt: skip
    return Materials(db)


def receive_times(stores: Materials) -> list[float]:
    """Seconds per receipt, after :data:`WARMUP` untimed ones."""
    certificate = bytes(range(256)) * 200  # 51,200 bytes
    times: list[float] = []
    for index in range(RECEIPTS + WARMUP):
        receipt = Receipt(
            part=f"P-{(index * 7) % PARTS:04d}",
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
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'bench.db'}")
        stores = setup(db)
        times = receive_times(stores)
        rows = stores.inventory()
        db.dispose()
    on_hand = sum(len(row.lots) for row in rows)
    median_ms = statistics.median(times) * 1000
    p99_ms = statistics.quantiles(times, n=100)[98] * 1000
    print(f"inventory: {on_hand} lots of {PARTS} parts after the run")
    print(
        f"receive latency: median {median_ms:.2f} ms, p99 {p99_ms:.2f} ms ({len(times)} receipts)"
    )
    print(f"material_receive_per_s: {len(times) / sum(times):.1f}")


if __name__ == "__main__":
    main()
