"""Helpers for the event delivery tests: an MQTT subscriber that records every message, the
``ferrule publish`` process, and a burst of committed and rolled-back changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from engine.infra import audit
from engine.infra.db import Database

FERRULE = str(Path(sys.executable).parent / "ferrule")
WAIT_S = 60.0


class Rollback(Exception):
    """Rolls a burst transaction back on purpose."""


@dataclass
class Received:
    """One MQTT message as the subscriber saw it."""

    topic: str
    payload: dict[str, Any]
    event_id: str
    content_type: str  # the MQTT 5 property


@dataclass
class Subscriber:
    """A persistent-session MQTT 5 subscriber to ``#`` with QoS 1 that reconnects by itself."""

    port: int
    client_id: str = "ferrule-test-subscriber"
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect(
            "127.0.0.1", self.port, keepalive=5, clean_start=False, properties=properties
        )
        self.client.loop_start()
        assert self._subscribed.wait(10), "the subscriber did not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, event_ids: set[str], timeout_s: float = WAIT_S) -> set[str]:
        """Wait until every id in ``event_ids`` arrived; the ones still missing."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = event_ids - {m.event_id for m in self.messages()}
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.1)

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe("#", qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: Any) -> None:
        payload = json.loads(message.payload)
        received = Received(message.topic, payload, payload["id"], message.properties.ContentType)
        with self._lock:
            self.received.append(received)


def start_publisher(db: Database, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """``ferrule publish`` on ``db`` with ``environ`` added to this process's environment."""
    env = {**os.environ, "FERRULE_DATABASE_URL": db.url, **environ}
    return subprocess.Popen(
        [FERRULE, "publish"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


ROLLED_BACK = "rolled-back"  # the actor of every change the burst rolls back
MAX_TRANSACTIONS = 20_000


class Burst(threading.Thread):
    """Commits changes of three events each, spread over ``records`` work orders (so each has
    many events in order), rolling back every ``rollback_every``-th (their actor is
    :data:`ROLLED_BACK`), until :meth:`stop` (or MAX_TRANSACTIONS)."""

    def __init__(self, db: Database, *, records: int = 10, rollback_every: int = 5) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.records = records
        self.rollback_every = rollback_every
        self.committed = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(60)

    def run(self) -> None:
        for number in range(MAX_TRANSACTIONS):
            if self._stopping.is_set():
                return
            rolled_back = number % self.rollback_every == self.rollback_every - 1
            actor = ROLLED_BACK if rolled_back else "burst"
            order = f"WO-{number % self.records}"
            try:
                with self.db.transaction() as session:
                    audit.record_many(
                        session,
                        [
                            audit.Change(actor, "release", "work_order", order),
                            audit.Change(actor, "create", "item", f"{order}-{number}"),
                            audit.Change(actor, "complete", "work_order", order),
                        ],
                    )
                    if rolled_back:
                        raise Rollback
            except Rollback:
                continue
            self.committed += 1
            time.sleep(0.002)


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)
