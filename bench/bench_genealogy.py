"""Genealogy traces on a generated harness plant of 1,000,000 items, as a year of records holds.

The rows are written straight into the real schema (created by the engine) with sqlite3
executemany, and cached under var/bench/ (a rerun skips generating). Four levels of made items:
400,000 harnesses, 300,000 looms built into them, 200,000 branches built into those and 100,000
moulded modules built into the branches. Each level draws its parts from supplier lots in the
order they were received, as a line does: a reel of wire feeds 2,000 harnesses, a roll of labels
5,000, a box of screws 2,000 looms, a drum of grease 2,000, a cartridge of resin 1,000 modules,
a tray of PCBs only 200. One reel in five was split (half a reel went to another line as a new
lot) and one drum of grease in four is a merge of two supplier drums, so a recall follows the
lot links. Every item has its operation runs (two for a harness: crimp and test) on one of
several machines, with three measurements and two tag captures per run: 1,400,000 runs,
4,200,000 measurements, 2,800,000 captures and 3,300,000 consumption links.

Then 1,000 backward traces (a harness down to every sub-assembly, lot, run, value and capture)
and 1,000 forward traces (a recall: a supplier lot, the same number of each part, up to every
item that contains it, directly or inside a sub-assembly; a bulk lot reaches thousands) run
through the engine's query API, with what is loaded before timing moved out of the garbage
collector's way as a served worker does (gc.freeze, see web/serve.py: a recall makes thousands
of result objects, and without it full collections that scan the whole heap are its p99).
Prints p50/p99 of each (wall clock, and CPU time, which a shared machine inflates less); last
line ``genealogy_trace_p99_ms: <number>`` (the worse wall-clock p99; target <= 50 on SQLite).
FERRULE_BENCH_SCALE=0.05 runs on a twentieth of the items.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import bulk_rows

from engine.infra.db import Database
from engine.queries import genealogy

ITEMS = 1_000_000
SHAPE = "v3"  # change when the generated data changes
TABLES = (
    "config_versions",
    "work_orders",
    "items",
    "operation_runs",
    "measurements",
    "tag_captures",
    "consumptions",
    "lots",
    "lot_links",
)
SAMPLES = 1_000  # per direction
STAMP = "2026-11-03 10:00:00.000000"
ORDER_SIZE = 1_000  # items per work order
T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    """A part drawn by every item of a level: ``feeds`` items per supplier lot."""

    name: str
    feeds: int
    quantity: float
    unit: str


@dataclass(frozen=True)
class Level:
    """One level of made items; item n of a level (n >= 1) is built into item n of the level
    above it, while there is one."""

    prefix: str
    product: str
    share: float  # of all items
    operations: tuple[tuple[str, str, int], ...]  # (operation, machine prefix, machines)
    parts: tuple[Part, ...]


LEVELS = (
    Level(
        "H",
        "HARNESS-100",
        0.4,
        (("crimp", "crimp-press", 8), ("test", "tester", 4)),
        (
            Part("WIRE", 2_000, 3.5, "m"),
            Part("TERMINAL", 1_000, 12, "pcs"),
            Part("LABEL", 5_000, 1, "pcs"),
        ),
    ),
    Level(
        "L",
        "LOOM-200",
        0.3,
        (("assemble", "bench", 12),),
        (
            Part("SCREW", 2_000, 4, "pcs"),
            Part("GREASE", 2_000, 2, "g"),
            Part("BRACKET", 250, 1, "pcs"),
        ),
    ),
    Level(
        "B",
        "BRANCH-300",
        0.2,
        (("solder", "reflow", 3),),
        (Part("SOLDER", 1_000, 1.5, "g"), Part("PCB", 200, 1, "pcs")),
    ),
    Level(
        "M",
        "MODULE-400",
        0.1,
        (("mould", "moulder", 2),),
        (Part("RESIN", 1_000, 20, "g"), Part("INSERT", 500, 2, "pcs")),
    ),
)
SPLIT_EVERY = {"WIRE": 5}  # one supplier lot in n was split; the new lot feeds half its items
MERGE_EVERY = {"GREASE": 4}  # one lot in n is a merge of two supplier lots
FIELDS = {"crimp": "height", "test": "resistance", "assemble": "torque"}
CAPTURES = ("temperature", "cycle_time")


@dataclass(frozen=True)
class Layout:
    """Where each level's items and runs start (ids are consecutive per level)."""

    counts: tuple[int, ...]
    first_item: tuple[int, ...]
    first_run: tuple[int, ...]

    @classmethod
    def of(cls, items: int) -> Layout:
        counts = tuple(max(1, int(items * level.share)) for level in LEVELS)
        first_item, first_run = [], []
        item, run = 1, 1
        for level, count in zip(LEVELS, counts, strict=True):
            first_item.append(item)
            first_run.append(run)
            item += count
            run += count * len(level.operations)
        return cls(counts, tuple(first_item), tuple(first_run))


class LotBook:
    """The supplier lots, split lots and merged lots as generated: ids, numbers and links."""

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []
        self.links: list[tuple[object, ...]] = []

    def add(self, part: Part, number: str) -> int:
        lot_id = len(self.rows) + 1
        quantity = part.feeds * part.quantity
        self.rows.append((lot_id, part.name, number, quantity, quantity, part.unit))
        return lot_id

    def drawn(self, part: Part, count: int) -> list[int]:
        """The lot id drawn by each of ``count`` items, in the order lots were received."""
        drawn: list[int] = []
        for block in range(-(-count // part.feeds)):
            number = f"{part.name}-{block + 1:06d}"
            size = min(part.feeds, count - len(drawn))
            if part.name in MERGE_EVERY and block % MERGE_EVERY[part.name] == 1:
                merged = self.add(part, f"{number}-M")
                for side in "AB":
                    parent = self.add(part, f"{number}{side}")
                    self.links.append((parent, merged, "merge", part.feeds * part.quantity / 2))
                drawn += [merged] * size
                continue
            lot = self.add(part, number)
            if part.name in SPLIT_EVERY and block % SPLIT_EVERY[part.name] == 1:
                child = self.add(part, f"{number}-S")
                self.links.append((lot, child, "split", part.feeds * part.quantity / 2))
                drawn += [lot] * (size // 2) + [child] * (size - size // 2)
                continue
            drawn += [lot] * size
        return drawn


def generate(path: Path, items: int) -> None:
    """Fill the schema with the plant's items, runs, values, captures, lots and links."""
    layout = Layout.of(items)
    con = bulk_rows.bulk_load(path, STAMP)
    orders: list[tuple[object, ...]] = []
    for level, count in zip(LEVELS, layout.counts, strict=True):
        for block in range(-(-count // ORDER_SIZE)):
            orders.append((len(orders) + 1, f"WO-{level.prefix}{block + 1:05d}", level.product))
    bulk_rows.insert(
        con,
        "INSERT INTO work_orders (id, number, product, routing, quantity, status, "
        f"config_version_id, created_at, created_by, revision) VALUES (?, ?, ?, 'r', "
        f"{ORDER_SIZE}, 'completed', 1, '{STAMP}', 'bench', 1)",
        orders,
    )
    bulk_rows.insert(
        con,
        "INSERT INTO items (id, number, work_order_id, ordinal, product, kind, quantity, "
        "status, status_reason, current_operation, operation_started, rework_counts, revision, "
        f"config_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'unit', 1, "
        f"'completed', '', NULL, 0, '{{}}', 1, 1, '{STAMP}', '{STAMP}')",
        _items(layout),
    )
    bulk_rows.insert(
        con,
        "INSERT INTO operation_runs (id, item_id, operation, operator, equipment, started_at, "
        f"completed_at, route, route_reason, config_version_id) VALUES (?, ?, ?, 'olga', ?, "
        f"'{STAMP}', '{STAMP}', 'next', '', 1)",
        _runs(layout),
    )
    bulk_rows.insert(
        con,
        "INSERT INTO measurements (run_id, field, value_num, value_text, unit) "
        "VALUES (?, ?, ?, ?, 'mm')",
        _measurements(layout),
    )
    bulk_rows.insert(
        con,
        "INSERT INTO tag_captures (run_id, tag, value_num, value_text, unit, quality, "
        f"source_time) VALUES (?, ?, ?, ?, NULL, 'good', '{STAMP}')",
        _captures(layout),
    )
    _consumptions(con, layout)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def _items(layout: Layout) -> Iterator[tuple[object, ...]]:
    order = 0
    for level, count, first in zip(LEVELS, layout.counts, layout.first_item, strict=True):
        for n in range(count):
            yield (
                first + n,
                f"{level.prefix}{n + 1:07d}",
                order + n // ORDER_SIZE + 1,
                n % ORDER_SIZE + 1,
                level.product,
            )
        order += -(-count // ORDER_SIZE)


def _runs(layout: Layout) -> Iterator[tuple[object, ...]]:
    for level, count, item, run in zip(
        LEVELS, layout.counts, layout.first_item, layout.first_run, strict=True
    ):
        for n in range(count):
            for step, (operation, machine, machines) in enumerate(level.operations):
                yield (
                    run + n * len(level.operations) + step,
                    item + n,
                    operation,
                    f"{machine}-{n % machines + 1}",
                )


def _run_ops(layout: Layout) -> Iterator[tuple[int, str]]:
    """Every run id with its operation."""
    for level, count, run in zip(LEVELS, layout.counts, layout.first_run, strict=True):
        for n in range(count * len(level.operations)):
            yield run + n, level.operations[n % len(level.operations)][0]


def _measurements(layout: Layout) -> Iterator[tuple[object, ...]]:
    for run, operation in _run_ops(layout):
        field = FIELDS.get(operation, "gap")
        for index in range(3):
            value = 10 + (run * 7 + index) % 100 / 100
            yield (run, f"{field}_{index + 1}", value, f"{value:g}")


def _captures(layout: Layout) -> Iterator[tuple[object, ...]]:
    for run, _ in _run_ops(layout):
        for index, tag in enumerate(CAPTURES):
            value = 20 + (run * 3 + index) % 400 / 10
            yield (run, f"cell.{tag}", value, f"{value:g}")


def _consumptions(con: sqlite3.Connection, layout: Layout) -> None:
    """The lots, their split and merge links, and every item's consumption links: its parts,
    then the item of the level below built into it."""
    book = LotBook()
    links: list[tuple[object, ...]] = []
    for depth, (level, count) in enumerate(zip(LEVELS, layout.counts, strict=True)):
        item, run = layout.first_item[depth], layout.first_run[depth]
        runs = len(level.operations)
        for part in level.parts:
            for n, lot in enumerate(book.drawn(part, count)):
                links.append((item + n, run + n * runs, part.name, lot, None, part.quantity))
        if depth + 1 < len(LEVELS):
            below = LEVELS[depth + 1]
            first_below = layout.first_item[depth + 1]
            for n in range(min(count, layout.counts[depth + 1])):
                links.append((item + n, run + n * runs, below.product, None, first_below + n, 1))
    bulk_rows.insert(
        con,
        "INSERT INTO lots (id, part, number, quantity, received_quantity, unit, status, "
        f"supplier, hold_reason, received_at, received_by, revision) VALUES (?, ?, ?, ?, ?, ?, "
        f"'consumed', 'Acme', '', '{STAMP}', 'bench', 1)",
        book.rows,
    )
    bulk_rows.insert(
        con,
        "INSERT INTO lot_links (parent_id, child_id, kind, quantity, at, actor) "
        f"VALUES (?, ?, ?, ?, '{STAMP}', 'bench')",
        book.links,
    )
    links.sort(key=lambda link: (link[1], link[0]))  # in the order they were recorded
    bulk_rows.insert(
        con,
        "INSERT INTO consumptions (item_id, run_id, part, lot_id, component_item_id, "
        "quantity, unit, config_version_id) VALUES (?, ?, ?, ?, ?, ?, 'pcs', 1)",
        links,
    )


@dataclass
class Timings:
    """Milliseconds per trace, by the wall clock and in this process's CPU (which a machine
    shared with other work inflates less), and the rows all traces found."""

    wall: list[float]
    cpu: list[float]
    rows: int

    def report(self, label: str) -> float:
        """Print the figures; the wall-clock p99."""
        p99 = bulk_rows.p99(self.wall)
        print(
            f"{label}: {len(self.wall)} traces, p50 {statistics.median(self.wall):.2f} ms, "
            f"p99 {p99:.2f} ms, max {max(self.wall):.2f} ms (CPU p50 "
            f"{statistics.median(self.cpu):.2f} ms, p99 {bulk_rows.p99(self.cpu):.2f} ms), "
            f"{self.rows / len(self.wall):,.0f} rows per trace"
        )
        return p99


def timed(samples: Sequence[T], trace: Callable[[T], int]) -> Timings:
    """Each sample traced once."""
    timings = Timings([], [], 0)
    for sample in samples:
        began, began_cpu = time.perf_counter(), time.process_time()
        timings.rows += trace(sample)
        timings.cpu.append((time.process_time() - began_cpu) * 1000)
        timings.wall.append((time.perf_counter() - began) * 1000)
    return timings


def supplier_lots(path: Path) -> dict[str, list[str]]:
    """Part → the numbers of its lots as received (not made by a split or a merge)."""
    con = sqlite3.connect(path)
    lots: dict[str, list[str]] = {}
    for part, number in con.execute(
        "SELECT part, number FROM lots WHERE id NOT IN (SELECT child_id FROM lot_links) ORDER BY id"
    ):
        lots.setdefault(part, []).append(number)
    con.close()
    return lots


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    items = bulk_rows.scaled(ITEMS)
    path = bulk_rows.cached_database(
        "genealogy", f"{SHAPE}-{items}", TABLES, lambda path: generate(path, items)
    )
    layout = Layout.of(items)
    rng = random.Random(11)
    harnesses = [
        f"{LEVELS[0].prefix}{rng.randint(1, layout.counts[0]):07d}" for _ in range(SAMPLES)
    ]
    received = supplier_lots(path)
    parts = rng.choices(sorted(received), k=SAMPLES)  # each part as often: bulk lots too
    recalls = [(part, rng.choice(received[part])) for part in parts]
    db = Database.from_url(f"sqlite:///{path}")
    gc.collect()
    gc.freeze()  # as a served worker does once the app is loaded (web/serve.py)
    with db.session() as session:
        back = timed(harnesses, lambda number: _rows(genealogy.backward(session, number)))
        forward = timed(recalls, lambda recall: len(genealogy.forward(session, *recall)))
    db.dispose()
    worst = max(back.report("backward"), forward.report("forward"))
    print(f"genealogy_trace_p99_ms: {worst:.2f}")


def _rows(trace: genealogy.Genealogy) -> int:
    """Rows a backward trace found: items, lots, runs, values and captures."""
    values = sum(len(run.values) + len(run.captures) for run in trace.runs)
    return len(trace.items) + len(trace.lots) + len(trace.runs) + values


if __name__ == "__main__":
    main()
