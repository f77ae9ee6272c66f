"""Completing operations over HTTP under gunicorn on SQLite, with 16 and 64 concurrent clients,
against a minimal Flask endpoint writing the same rows with sqlite3 (bench/http_floor_app.py)
under the same gunicorn settings, measured in the same run: both servers run side by side and
each load level runs on one, then on the other, so that both see the same machine load.
Loopback only; bounded in count and time. Units are started beforehand (not timed); each timed
request completes 'cut' on one unit: two entered values, one consumption, one gate, routing to
'crimp', two hash-chained audit rows.
Last line: ``http_complete_vs_floor: <ratio>`` (floor throughput / Ferrule throughput, the worse
of the two concurrency levels; target <= 2).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import http_floor_app  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from engine.access import people  # noqa: E402
from engine.access import tokens as access  # noqa: E402
from engine.commands import materials, versions  # noqa: E402
from engine.facade.production import Ferrule  # noqa: E402
from engine.floor.tagsource import StaticTagSource  # noqa: E402
from engine.infra.db import Database  # noqa: E402
from engine.migrations import upgrade  # noqa: E402
from engine.records.tables import User  # noqa: E402
from web.serve import default_workers  # noqa: E402

LEVELS = (16, 64)
REQUESTS = 400  # per level
WARMUP = 30
LEVEL_TIME_LIMIT_S = 40.0
WORKERS = default_workers()
BODY = json.dumps(
    {
        "data": {"length": 500.0, "strip_length": 7.0},
        "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
    }
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_ferrule(url: str, units: int) -> tuple[list[str], str]:
    """A migrated database with acme-harness, a qualified operator and ``units`` started on cut."""
    db = Database.from_url(url)
    upgrade(db)
    versions.deploy(db, REPO / "plants" / "acme-harness", actor="bench")
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        people.create_user(session, "sam", actor="bench")
        people.grant_role(session, "sam", "supervisor", actor="bench")
        people.create_user(session, "anna", actor="bench")
        people.grant_role(session, "anna", "operator", actor="bench")
        for qualification in plant.qualifications:
            people.grant_qualification(session, "anna", qualification, actor="bench", plant=plant)
        session.execute(update(User).values(password_hash=PasswordHasher().hash("bench")))
        materials.receive_lot(session, plant, "WIRE-18-RD", "W-001", 1_000_000, actor="bench")
        _, secret = access.create_token(
            session, name="bench", username="anna", roles=("operator",), created_by="bench"
        )
    ferrule = Ferrule(db, StaticTagSource())
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=units)
    numbers = list(ferrule.release_work_order(actor="sam", number=order.number).items)
    for number in numbers:
        ferrule.start_operation(actor="anna", item=number, operation="cut")
    db.dispose()
    return numbers, secret


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"server did not listen within 30 s:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def post(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=BODY, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - began
    finally:
        connection.close()


def load(
    concurrency: int, targets: list[str], call: Callable[[str], tuple[int, float]]
) -> tuple[float, float, float, int, int]:
    """Throughput (req/s), p50 and p99 (ms), requests done, failures."""
    deadline = time.monotonic() + LEVEL_TIME_LIMIT_S
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def one(target: str) -> None:
        nonlocal failures
        if time.monotonic() > deadline:
            return
        status, seconds = call(target)
        with lock:
            latencies.append(seconds)
            failures += status != 200

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, targets))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, len(latencies), failures


@dataclass(frozen=True)
class Server:
    """A running server under test and how to complete a unit on it."""

    name: str
    port: int
    path_of: Callable[[str], str]
    headers: dict[str, str]

    def complete(self, unit: str) -> tuple[int, float]:
        return post(self.port, self.path_of(unit), self.headers)


def warm(server: Server, units: list[str]) -> None:
    for unit in units:
        status, _ = server.complete(unit)
        if status != 200:
            raise SystemExit(f"{server.name}: warm-up request failed with {status}")


def level(server: Server, concurrency: int, units: list[str]) -> float:
    """One load level on one server: its throughput (printed with its latencies)."""
    rate, p50, p99, done, failed = load(concurrency, units, server.complete)
    print(
        f"{server.name:<8} c={concurrency:<3} {done:>4} requests  {rate:7.1f} req/s  "
        f"p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  failures {failed}"
    )
    if failed:
        raise SystemExit(f"{server.name}: {failed} requests failed")
    return rate


def batches_of(units: list[str]) -> list[list[str]]:
    return [units[:WARMUP]] + [
        units[WARMUP + i * REQUESTS : WARMUP + (i + 1) * REQUESTS] for i in range(len(LEVELS))
    ]


def main() -> None:
    total = WARMUP + REQUESTS * len(LEVELS)
    with tempfile.TemporaryDirectory(prefix="ferrule-bench-http-") as folder:
        var = Path(folder)
        url = f"sqlite:///{var / 'ferrule.db'}"
        print(f"preparing {total} started units …", flush=True)
        units, secret = prepare_ferrule(url, total)
        http_floor_app.create(str(var / "floor.db"), units)
        env = {
            **os.environ,
            "FERRULE_VAR": str(var),
            "FERRULE_DATABASE_URL": url,
            "FERRULE_TAG_CACHE": str(var / "no-tags.mmap"),
            "FLOOR_DB": str(var / "floor.db"),
            "HOME": str(var),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        bin_dir = Path(sys.executable).parent
        print(f"gunicorn, {WORKERS} sync workers, loopback")

        ferrule_port, floor_port = free_port(), free_port()
        servers = [
            start(
                [str(bin_dir / "ferrule"), "serve", "--port", str(ferrule_port), "--workers",
                 str(WORKERS), "--log-level", "warning"],
                env, ferrule_port, var / "ferrule.log",
            ),
        ]  # fmt: skip
        try:
            servers.append(
                start(
                    [str(bin_dir / "gunicorn"), "--workers", str(WORKERS), "--worker-class",
                     "sync", "--no-control-socket", "--bind", f"127.0.0.1:{floor_port}",
                     "--chdir", str(BENCH), "--log-level", "warning", "http_floor_app:app"],
                    env, floor_port, var / "floor.log",
                )
            )  # fmt: skip
            ferrule = Server(
                "ferrule",
                ferrule_port,
                lambda u: f"/api/items/{u}/operations/cut/complete",
                {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            )
            floor = Server(
                "floor",
                floor_port,
                lambda u: f"/complete/{u}",
                {"Content-Type": "application/json"},
            )
            batches = batches_of(units)
            rates: dict[str, dict[int, float]] = {"ferrule": {}, "floor": {}}
            for server in (ferrule, floor):
                warm(server, batches[0])
            for concurrency, batch in zip(LEVELS, batches[1:], strict=True):
                for server in (ferrule, floor):
                    rates[server.name][concurrency] = level(server, concurrency, batch)
        finally:
            for running in servers:
                stop(running)
    ratios = {c: rates["floor"][c] / rates["ferrule"][c] for c in LEVELS}
    for c in LEVELS:
        print(f"c={c}: floor/ferrule throughput = {ratios[c]:.2f}")
    print(f"http_complete_vs_floor: {max(ratios.values()):.2f}")


if __name__ == "__main__":
    main()
