"""Events end to end: from the outbox through ``ferrule publish`` and a real Mosquitto to a stock
``mosquitto_sub`` (MQTT 5, QoS 1 from the publisher to the broker and from the broker to the
subscriber).

The outbox is filled first with EVENTS events (transactions of TX_SIZE audited changes on
SQLite, as the floor writes them), then ``ferrule publish`` starts in its own process and the
subscriber's lines are counted. The rate is taken from the first event to the last, so the
process start-up is not in it; the whole run is bounded by TIMEOUT_S.
Last line: ``events_per_s: <value>`` (target >= 2,000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "infra"))
from mosquitto import MosquittoBroker, find_mosquitto

from engine.infra import audit
from engine.infra.db import Database

EVENTS = 20_000
TX_SIZE = 10
TIMEOUT_S = 120.0
PROBE = "ferrule/probe"  # published until the subscriber shows it: then it is subscribed


class Lines:
    """Reads the subscriber's output: counts event lines, times the first and the last."""

    def __init__(self, stream: object, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first = self.last = 0.0
        self.subscribed = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            now = time.perf_counter()
            if line.startswith(b"probe"):
                self.subscribed.set()
                continue
            if self.count == 0:
                self.first = now
            self.count += 1
            self.last = now
            if self.count >= self.expected:
                self.done.set()
                return


def fill(db: Database, events: int) -> None:
    """``events`` published changes, TX_SIZE per transaction."""
    for start in range(0, events, TX_SIZE):
        with db.transaction() as session:
            audit.record_many(
                session,
                [
                    audit.Change("bench", "complete", "item", f"U{n:07d}", {"s": 1}, {"s": 2})
                    for n in range(start, min(events, start + TX_SIZE))
                ],
            )


def wait_subscribed(port: int, lines: Lines) -> None:
    """Publish the probe until the subscriber prints it."""
    probe = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    probe.connect("127.0.0.1", port)
    probe.loop_start()
    deadline = time.monotonic() + 10
    while not lines.subscribed.is_set():
        if time.monotonic() > deadline:
            raise SystemExit("mosquitto_sub did not subscribe")
        probe.publish(PROBE, b"probe", qos=1)
        lines.subscribed.wait(0.2)
    probe.disconnect()
    probe.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args()
    executable, subscriber_program = find_mosquitto(), shutil.which("mosquitto_sub")
    if executable is None or subscriber_program is None:
        raise SystemExit("Mosquitto is not installed (tests/infra/system-deps.sh)")
    broker = MosquittoBroker(executable)
    broker.start()
    children: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="ferrule-bench-events-") as folder:
        url = f"sqlite:///{folder}/ferrule.db"
        db = Database.from_url(url)
        db.create_all()
        try:
            began = time.perf_counter()
            fill(db, args.events)
            print(f"outbox filled: {args.events} events in {time.perf_counter() - began:.1f} s")
            options = ["-V", "mqttv5", "-q", "1", "-h", "127.0.0.1", "-p", str(broker.port)]
            subscriber = subprocess.Popen(
                [subscriber_program, *options, "-t", "ferrule/#"], stdout=subprocess.PIPE
            )
            children.append(subscriber)
            lines = Lines(subscriber.stdout, args.events)
            wait_subscribed(broker.port, lines)
            env = {
                **os.environ,
                "FERRULE_DATABASE_URL": url,
                "FERRULE_MQTT_HOST": "127.0.0.1",
                "FERRULE_MQTT_PORT": str(broker.port),
            }
            ferrule = str(Path(sys.executable).parent / "ferrule")
            children.append(subprocess.Popen([ferrule, "publish"], env=env))
            if not lines.done.wait(TIMEOUT_S):
                raise SystemExit(f"only {lines.count} of {args.events} events arrived")
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
                child.wait(15)
            db.dispose()
            broker.remove()
    elapsed = lines.last - lines.first
    print(f"{lines.count} events through Mosquitto in {elapsed:.2f} s")
    print(f"events_per_s: {(lines.count - 1) / max(elapsed, 1e-9):.0f}")


if __name__ == "__main__":
    main()
