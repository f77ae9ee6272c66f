"""Latency from a tag change in the shared tag cache to the recorded firing of an event rule.

A synthetic site has one device of 2,000 tags (bar), 20 machines and 200 event rules, each on
its own tag: ``line.tNNNN > 100 bar`` (``for: 0 s``, re-armed below 90 bar) holding a machine
and notifying the supervisor. The real ``ferrule rules`` process (its default 50 ms period)
reads the cache file this benchmark writes as the adapter process would (adapters.cache), on a
SQLite database. Each episode moves one rule's tag to 150 bar, stamps the moment, and polls the
database until the firing's row is committed; then it moves the tag back to 50 bar (the rule
re-arms long before its turn comes again). The last line is ``event_rule_latency_p99_ms:
<value>`` (target <= 300 ms). ``BENCH_EVENT_RULES_EPISODES`` (default 400) bounds the run.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.cache import TagCacheWriter
from engine.commands import versions
from engine.infra.db import Database

TAGS = 2_000
RULES = 200
MACHINES = 20
EPISODES = int(os.environ.get("BENCH_EVENT_RULES_EPISODES", "400"))
TIMEOUT_S = 5.0


def tag(index: int) -> str:
    return f"t{index:04d}"


def rule_tag(rule: int) -> str:
    """The tag rule ``rule`` watches (every tenth one)."""
    return f"line.{tag(rule * TAGS // RULES)}"


def site_yaml() -> str:
    """The synthetic site: one device, its tags, the machines and the rules."""
    lines = [
        "site: bench",
        "timezone: Europe/Berlin",
        "roles:",
        "  supervisor: {description: Watches the line}",
        "devices:",
        "  line:",
        "    opcua: {endpoint: 'opc.tcp://127.0.0.1:4999/bench'}",
        "    tags:",
    ]
    lines += [
        f"      {tag(i)}: {{node: 'ns=2;s=T{i}', unit: bar, max_age: 1 h}}" for i in range(TAGS)
    ]
    lines += ["equipment:"]
    lines += [f"  m{m:02d}: {{description: Machine {m}}}" for m in range(MACHINES)]
    lines += ["event_rules:"]
    for rule in range(RULES):
        lines += [
            f"  r{rule:03d}:",
            f"    when: {rule_tag(rule)} > 100 bar",
            "    for: 0 s",
            f"    then: [{{hold: m{rule % MACHINES:02d}}}, {{notify: supervisor}}]",
            "    because: Pressure above its rating",
            f"    rearm: {rule_tag(rule)} < 90 bar",
        ]
    return "\n".join(lines) + "\n"


def firings(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM event_rule_firings").fetchone()[0])


def wait_for_firing(connection: sqlite3.Connection, before: int, since: float) -> float:
    """Seconds from ``since`` until a firing more than ``before`` is committed."""
    while firings(connection) <= before:
        if time.time() - since > TIMEOUT_S:
            raise SystemExit(f"no firing recorded within {TIMEOUT_S:.0f} s")
        time.sleep(0.002)
    return time.time() - since


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ferrule-bench-") as name:
        folder = Path(name)
        plant = folder / "plant"
        plant.mkdir()
        (plant / "site.yaml").write_text(site_yaml(), encoding="utf-8")
        url = f"sqlite:///{folder / 'bench.db'}"
        db = Database.from_url(url)
        db.create_all()
        versions.deploy(db, plant, actor="bench", note="event rules benchmark")
        db.dispose()
        keys = [f"line.{tag(i)}" for i in range(TAGS)]
        cache_path = folder / "tags.mmap"
        writer = TagCacheWriter(cache_path, keys, [3600.0] * TAGS)
        now = time.time()
        for key in keys:
            writer.publish(key, 50.0, now, now)
        ferrule = Path(sys.executable).parent / "ferrule"
        env = {**os.environ, "FERRULE_DATABASE_URL": url, "FERRULE_VAR": str(folder)}
        process = subprocess.Popen(
            [str(ferrule), "rules", "--cache", str(cache_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        connection = sqlite3.connect(folder / "bench.db", timeout=30)
        latencies: list[float] = []
        try:
            time.sleep(3.0)  # the process loads the plant and takes its first steps
            for episode in range(EPISODES + 1):
                key = rule_tag(episode % RULES)
                before = firings(connection)
                moment = time.time()
                writer.publish(key, 150.0, moment, moment)
                took = wait_for_firing(connection, before, moment)
                if episode:  # the first one also warms the process up
                    latencies.append(took * 1000)
                now = time.time()
                writer.publish(key, 50.0, now, now)
                writer.beat(now)
        finally:
            process.terminate()
            process.wait(10)
            connection.close()
            writer.close()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{len(latencies)} episodes, {RULES} rules over {TAGS} tags, evaluated every 50 ms")
    print(f"tag change to recorded firing p50: {cuts[49]:.0f} ms, p90: {cuts[89]:.0f} ms")
    print(f"max: {max(latencies):.0f} ms")
    print(f"event_rule_latency_p99_ms: {cuts[98]:.0f}")


if __name__ == "__main__":
    main()
