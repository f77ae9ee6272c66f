"""The tag historian under load, on SQLite.

1. Ingest: a historian process (this file with ``--ingest``: the real :class:`Recorder` loop on
   the real clock) records 5,000 tags sampled every second, each value moving out of its
   deadband every time, so that every sample is stored: 5,000 rows/s in one batch per second,
   for ``BENCH_HISTORIAN_SECONDS`` (default 60). Meanwhile the web app under gunicorn serves
   operation completions at 16 concurrent clients (as in bench_http_complete.py); the same load
   ran before without ingest. Reported: the achieved ingest rate and the completion throughput
   without ingest divided by the throughput with it.
2. Trend: a filled table, 1 Hz for ``BENCH_HISTORIAN_DAYS`` (default 2) days of
   ``BENCH_HISTORIAN_TAGS`` (default 300) tags — one stored at every sample (no deadband: the
   worst case, 86,400 points a day), the others compressed by their deadband to a point every
   10 s on average — then 200 queries of one tag's 24 h trend (the page's query: the period's
   points, thinned in the database to draw) at random ends within the last day, for the worst
   case tag (printed) and for a compressed one (the last line).

Last line: ``trend_24h_p99_ms: <v>`` (target <= 100); before it ``historian_ingest_per_s: <v>``
(target >= 5000) and ``historian_completion_ratio: <v>``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from bench_http_complete import (  # noqa: E402
    BODY,
    WARMUP,
    WORKERS,
    Server,
    free_port,
    prepare_ferrule,
    start,
    stop,
    warm,
)
from sqlalchemy import func, select  # noqa: E402

from engine.commands import historian as writing  # noqa: E402
from engine.commands import versions  # noqa: E402
from engine.facade.historian import FlushResult, Historian, Recorder  # noqa: E402
from engine.floor.historian import HistorySpec, Sample  # noqa: E402
from engine.floor.tagsource import TagReading, TagValue  # noqa: E402
from engine.infra.db import Database  # noqa: E402
from engine.records.historian import GOOD  # noqa: E402

SECONDS = float(os.environ.get("BENCH_HISTORIAN_SECONDS", "60"))
INGEST_TAGS = 5000
CONCURRENCY = 16
BASELINE_UNITS = int(os.environ.get("BENCH_HISTORIAN_BASELINE_UNITS", "400"))
UNITS = int(os.environ.get("BENCH_HISTORIAN_UNITS", "3000"))
TREND_TAGS = int(os.environ.get("BENCH_HISTORIAN_TAGS", "300"))
TREND_DAYS = int(os.environ.get("BENCH_HISTORIAN_DAYS", "2"))
QUERIES = 200
DAY_MS = 86_400_000


class MovingSource:
    """Every tag moves by more than its deadband at every read: each sample is stored."""

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]:
        now = dt.datetime.now(dt.UTC)
        base = now.timestamp()
        return {
            key: TagReading(50.0 + 10.0 * math.sin(base + n), "good", now, now)
            for n, key in enumerate(keys)
        }


def ingest(url: str, seconds: float) -> None:
    """The historian process of part 1: records for ``seconds``, prints rows written."""
    db = Database.from_url(url)
    specs = tuple(
        HistorySpec(f"bench.t{n:04d}", "bar", 1000, 0.0, 600_000) for n in range(INGEST_TAGS)
    )
    recorder = Recorder(db, MovingSource(), specs=specs)
    stop = threading.Event()
    written: list[int] = []

    def flushed(result: FlushResult) -> None:
        if result.problem:
            print(f"ingest: {result.problem}", file=sys.stderr, flush=True)
        written.append(result.written)

    threading.Timer(seconds, stop.set).start()
    began = time.perf_counter()
    recorder.run(stop, on_flush=flushed)
    elapsed = time.perf_counter() - began
    print(f"{sum(written)} {elapsed:.3f}", flush=True)
    db.dispose()


def completions(server: Server, units: list[str], limit_s: float) -> tuple[float, int]:
    """Complete ``units`` at :data:`CONCURRENCY` clients for at most ``limit_s``: (req/s, done)."""
    deadline = time.monotonic() + limit_s
    done: list[float] = []
    failures = 0
    lock = threading.Lock()

    def one(unit: str) -> None:
        nonlocal failures
        if time.monotonic() > deadline:
            return
        status, seconds = server.complete(unit)
        with lock:
            done.append(seconds)
            failures += status != 200

    began = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, units))
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{failures} completions failed")
    return len(done) / elapsed, len(done)


def part_ingest(var: Path) -> tuple[float, float]:
    """(ingest rows/s, completion throughput without ingest / with ingest)."""
    url = f"sqlite:///{var / 'ferrule.db'}"
    print(f"preparing {BASELINE_UNITS + UNITS} started units …", flush=True)
    units, secret = prepare_ferrule(url, BASELINE_UNITS + UNITS)
    migrated = Database.from_url(url)
    migrated.create_all()  # adds the tables a migration does not hold yet (checkfirst)
    migrated.dispose()
    env = {
        **os.environ,
        "FERRULE_VAR": str(var),
        "FERRULE_DATABASE_URL": url,
        "FERRULE_TAG_CACHE": str(var / "no-tags.mmap"),
        "HOME": str(var),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    command = [str(Path(sys.executable).parent / "ferrule"), "serve", "--port", str(port),
               "--workers", str(WORKERS), "--log-level", "warning"]  # fmt: skip
    server_process = start(command, env, port, var / "ferrule.log")
    try:
        server = Server(
            "ferrule",
            port,
            lambda u: f"/api/items/{u}/operations/cut/complete",
            {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        )
        first = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        first.request("POST", server.path_of(units[0]), body=BODY, headers=server.headers)
        if first.getresponse().status != 200:  # the first request loads the plant: not timed
            raise SystemExit("the first completion failed")
        first.close()
        warm(server, units[1:WARMUP])
        baseline, done = completions(server, units[WARMUP:BASELINE_UNITS], SECONDS)
        print(f"completions without ingest: {done} at {baseline:.1f}/s", flush=True)
        historian = subprocess.Popen(
            [sys.executable, __file__, "--ingest", url, str(SECONDS)],
            env=env,
            stdout=subprocess.PIPE,
        )
        time.sleep(2.0)  # let it load its 5,000 tags and start sampling
        loaded, done = completions(server, units[BASELINE_UNITS:], SECONDS - 2.0)
        out, _ = historian.communicate(timeout=SECONDS + 120)
        if historian.returncode != 0:
            raise SystemExit("the ingest process failed")
    finally:
        stop(server_process)
    rows, elapsed = out.decode().split()
    rate = int(rows) / float(elapsed)
    print(f"completions with ingest: {done} at {loaded:.1f}/s; ingest {rows} rows in {elapsed} s")
    return rate, baseline / loaded


def fill(db: Database, now_ms: int) -> None:
    """TREND_DAYS days up to ``now_ms``: tag 0 at every second, the others about every 10 s."""
    rng = random.Random(7)
    specs = [HistorySpec(f"line.t{n:03d}", "bar", 1000, 0.5, 600_000) for n in range(TREND_TAGS)]
    start_ms = now_ms - TREND_DAYS * DAY_MS
    with db.transaction() as session:
        ids = writing.tag_ids(session, specs)
        days = {writing.day_of(start_ms + d * DAY_MS) for d in range(TREND_DAYS + 1)}
        writing.create_partitions(session, days)
    hour = 3_600_000
    for chunk in range(start_ms, now_ms, hour):  # an hour of every tag per transaction
        rows: list[tuple[int, Sample]] = []
        for n, spec in enumerate(specs):
            step = 1000 if n == 0 else 10_000
            at = chunk + (0 if n == 0 else rng.randrange(step))
            value = 50.0
            while at < min(chunk + hour, now_ms):
                value += rng.uniform(-1.0, 1.0)
                rows.append((ids[spec.key], Sample(at, value, GOOD)))
                at += step if n == 0 else rng.randrange(1000, 2 * step)
        with db.transaction() as session:
            writing.store(session, rows)


def part_trend(var: Path) -> float:
    """p99 in ms of one tag's 24 h trend query on the filled table."""
    db = Database.from_url(f"sqlite:///{var / 'trend.db'}")
    db.create_all()
    versions.deploy(db, REPO / "plants" / "acme-harness", actor="bench")
    now_ms = int(time.time() * 1000) // 1000 * 1000
    began = time.perf_counter()
    fill(db, now_ms)
    with db.session() as session:
        count = session.execute(select(func.count()).select_from(writing.POINTS)).scalar_one()
    print(
        f"filled {count} points of {TREND_TAGS} tags over {TREND_DAYS} d in "
        f"{time.perf_counter() - began:.0f} s",
        flush=True,
    )
    historian = Historian(db)
    worst = p99_of(historian, "line.t000", now_ms)
    typical = p99_of(historian, "line.t001", now_ms)
    db.dispose()
    print(f"24 h trend p99: {worst:.1f} ms for the tag stored at every second (worst case)")
    print(f"24 h trend p99: {typical:.1f} ms for a tag compressed by its deadband")
    return typical


def p99_of(historian: Historian, key: str, now_ms: int) -> float:
    """p99 in ms of ``key``'s 24 h trend ending at random moments of the last day."""
    rng = random.Random(11)
    timings: list[float] = []
    for n in range(QUERIES + 10):
        end = dt.datetime.fromtimestamp((now_ms - rng.randrange(DAY_MS)) / 1000, dt.UTC)
        began = time.perf_counter()
        trend = historian.trend(key, end - dt.timedelta(hours=24), end)
        if n >= 10:  # the first ten warm the caches
            timings.append((time.perf_counter() - began) * 1000)
        assert trend.points, "the queried tag has points"
    cuts = statistics.quantiles(timings, n=100)
    print(f"24 h trend of {key}: p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms", flush=True)
    return cuts[98]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ferrule-bench-historian-") as folder:
        var = Path(folder)
        rate, ratio = part_ingest(var)
        p99 = part_trend(var)
    print(f"historian_completion_ratio: {ratio:.2f}")
    print(f"historian_ingest_per_s: {rate:.0f}")
    print(f"trend_24h_p99_ms: {p99:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--ingest":
        ingest(sys.argv[2], float(sys.argv[3]))
    else:
        main()
