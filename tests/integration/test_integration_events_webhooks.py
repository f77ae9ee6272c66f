"""Webhooks against a local HTTP receiver on 127.0.0.1: signed requests, retries with
exponential back-off, dead letters and an admin's replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from engine.cli.publish import Publisher, Round, publish_command, webhook_settings
from engine.cli.sinks import Backoff, Sent
from engine.cli.webhook_sink import WebhookSettings, WebhookSink
from engine.commands.events import SETTLE, Event
from engine.facade.audit import AuditTrail
from engine.facade.events import Events
from engine.infra import audit
from engine.infra.db import Database

SECRET = "s3cret-shared-with-the-receiver"


@dataclass
class Receiver:
    """Answers 200 to correctly signed events, except ``failing`` ids (503) or ``down`` (500)."""

    failing: set[str] = field(default_factory=set)
    down: bool = False
    delivered: list[dict[str, object]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        timestamp = headers["Ferrule-Timestamp"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        if headers["Ferrule-Signature"] != f"sha256={expected.hexdigest()}":
            return 401
        event = json.loads(body)
        with self.lock:
            if self.down or event["id"] in self.failing:
                self.refused.append(event["id"])
                return 503
            assert headers["Ferrule-Event-Id"] == event["id"]
            self.delivered.append(event)
        return 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(state.answer(dict(self.headers), body))
            self.end_headers()

        def log_message(self, *_: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/ferrule/events"
    server.shutdown()
    server.server_close()


def _orders(db: Database, *numbers: str) -> None:
    with db.transaction() as session:
        for number in numbers:
            audit.record(
                session, actor="sam", action="release", entity="work_order", entity_id=number
            )


def _publisher(db: Database, url: str, waits: list[float], attempts: int = 3) -> Publisher:
    settings = WebhookSettings(url=url, secret=SECRET, attempts=attempts, backoff=Backoff(0.5, 30))
    return Publisher(Events(db), [WebhookSink(settings, sleep=waits.append)])


def test_events_are_posted_signed_and_in_order(
    db: Database, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    _orders(db, "WO-1", "WO-2", "WO-3")
    waits: list[float] = []
    publisher = _publisher(db, url, waits)
    assert publisher.pump_once(publisher.sinks[0]) == Round(3, 3)
    assert [e["entity_id"] for e in state.delivered] == ["WO-1", "WO-2", "WO-3"]
    assert waits == []
    assert publisher.pump_once(publisher.sinks[0]) == Round(0, 0)


def test_a_failing_receiver_is_retried_with_exponential_back_off(
    db: Database, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    _orders(db, "WO-1")
    state.down = True
    waits: list[float] = []
    publisher = _publisher(db, url, waits, attempts=4)
    original_sleep = publisher.sinks[0].sleep  # type: ignore[attr-defined]

    def recover_after_two(delay: float) -> None:
        original_sleep(delay)
        state.down = len(waits) < 2

    publisher.sinks[0].sleep = recover_after_two  # type: ignore[attr-defined]
    assert publisher.pump_once(publisher.sinks[0]) == Round(1, 1)
    assert waits == [0.5, 1.0]
    assert len(state.refused) == 2 and len(state.delivered) == 1
    assert Events(db).dead_letters() == []


def test_an_event_that_keeps_failing_is_a_dead_letter_until_replayed(
    db: Database, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    _orders(db, "WO-1", "WO-2")
    outbox = Events(db)
    first = outbox.pending("webhook", 1)[0]
    state.failing.add(first.event_id)
    waits: list[float] = []
    publisher = _publisher(db, url, waits)
    refused = f"{url} answered HTTP 503 Service Unavailable"
    assert publisher.pump_once(publisher.sinks[0]) == Round(2, 1, refused)  # gave up on #1
    assert waits == [0.5, 1.0]  # three attempts
    assert publisher.pump_once(publisher.sinks[0]) == Round(1, 1)
    assert [e["entity_id"] for e in state.delivered] == ["WO-2"]  # delivery moved on
    (letter,) = outbox.dead_letters()
    assert (letter.event_id, letter.attempts, letter.error, letter.status) == (
        first.event_id,
        3,
        "HTTP 503 Service Unavailable",
        "dead",
    )
    state.failing.clear()
    outbox.replay(letter.id, actor="ada")
    assert publisher.pump_once(publisher.sinks[0]) == Round(0, 0)
    assert [e["entity_id"] for e in state.delivered] == ["WO-2", "WO-1"]
    assert state.delivered[-1]["id"] == first.event_id  # the same event, the same id
    assert outbox.dead_letters()[0].status == "delivered"
    assert AuditTrail(db).verify().ok


def test_an_unreachable_receiver_is_named_in_the_dead_letter(db: Database) -> None:
    _orders(db, "WO-1")
    publisher = _publisher(db, "http://127.0.0.1:9/nobody-listens", [], attempts=2)
    assert publisher.pump_once(publisher.sinks[0]).settled == 1
    (letter,) = Events(db).dead_letters()
    assert letter.error == "not delivered: [Errno 111] Connection refused"


def test_webhook_settings_say_what_is_missing() -> None:
    assert webhook_settings({}) is None
    with pytest.raises(Exception, match="FERRULE_WEBHOOK_SECRET is not set: webhook requests"):
        webhook_settings({"FERRULE_WEBHOOK_URL": "https://erp.example/hook"})
    with pytest.raises(Exception, match=r"FERRULE_WEBHOOK_ATTEMPTS=many is not a positive"):
        webhook_settings(
            {
                "FERRULE_WEBHOOK_URL": "https://erp.example/hook",
                "FERRULE_WEBHOOK_SECRET": "x",
                "FERRULE_WEBHOOK_ATTEMPTS": "many",
            }
        )


class Exploding:
    """A sink with a bug."""

    name = "exploding"
    settle = SETTLE

    def open(self) -> bool:
        return False

    def send(self, events: Sequence[Event]) -> Sent:
        raise ZeroDivisionError("a bug in a sink")

    def close(self) -> None:
        """Nothing to close."""


def test_a_sink_that_crashes_stops_the_process_for_its_supervisor(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _orders(db, "WO-1")
    publisher = Publisher(Events(db), [Exploding()])
    stop = threading.Event()
    runner = threading.Thread(target=publisher.run, args=(stop,))
    runner.start()
    runner.join(10)
    assert not runner.is_alive() and publisher.crashed
    assert "publish exploding: stopped by an unexpected error" in capsys.readouterr().err


def test_ferrule_publish_refuses_an_unsigned_webhook(db: Database) -> None:
    result = CliRunner().invoke(
        publish_command,
        ["--database-url", db.url],
        env={"FERRULE_WEBHOOK_URL": "https://erp.example/hook", "FERRULE_MQTT_HOST": ""},
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: FERRULE_WEBHOOK_SECRET is not set: webhook requests are signed with it "
        "(see docs/events.md).\n"
    )
