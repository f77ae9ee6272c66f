"""``ferrule publish``: the process that delivers the event outbox to MQTT and webhooks.

One thread per sink reads the events after the sink's cursor, sends them in order and moves the
cursor past what the other side acknowledged (engine.commands.events), so delivery is at least
once and in order per record, whenever the process or the broker is killed. A failing sink backs
off exponentially; its first failure is reported, repeats are quiet until it recovers. The sinks
are configured by environment variables (docs/events.md); with none set the process waits idle,
so that ``ferrule demo`` can always start it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.cli.mqtt_sink import MqttSettings, MqttSink
from engine.cli.sinks import Backoff, Sink
from engine.cli.webhook_sink import WebhookSettings, WebhookSink
from engine.commands.events import SETTLE
from engine.errors import DomainError
from engine.facade.events import Events
from engine.infra.db import DEFAULT_URL, URL_VARIABLE, Database
from engine.records.base import utcnow

BATCH = 2000
POLL_S = 0.1
PRUNE_EVERY_S = 60.0
SINK_BACKOFF = Backoff(first_s=0.2, max_s=10.0)


class Round(NamedTuple):
    """One :meth:`Publisher.pump_once`: events read, events settled (delivered or given up
    on), and why the others were not delivered."""

    waiting: int
    settled: int
    problem: str = ""


class Publisher:
    """Pumps the outbox into ``sinks``; :meth:`pump_once` is one step (tests call it)."""

    def __init__(
        self,
        events: Events,
        sinks: Sequence[Sink],
        *,
        batch: int = BATCH,
        poll_s: float = POLL_S,
        keep: dt.timedelta | None = None,
    ) -> None:
        self.events = events
        self.sinks = list(sinks)
        self.batch = batch
        self.poll_s = poll_s
        self.keep = keep
        self.crashed = False  # a sink's thread died of an unexpected error

    def pump_once(self, sink: Sink) -> Round:
        """Send the replays and the next batch to ``sink``; on a new connection first go back to
        the sink's settled point (what a restarted broker may have lost is sent again)."""
        if sink.open():
            self.events.rewind(sink.name)
        self._replay(sink)
        batch = self.events.pending(sink.name, self.batch)
        if not batch:
            return Round(0, 0)
        sent = sink.send(batch)
        if sent.delivered:
            self.events.delivered(sink.name, batch[sent.delivered - 1].seq, settle=sink.settle)
        failure = sent.failed
        if failure is not None:
            self.events.give_up(
                sink.name, failure.event, attempts=failure.attempts, error=failure.error
            )
        return Round(len(batch), sent.delivered + (failure is not None), sent.problem)

    def _replay(self, sink: Sink) -> None:
        """Send the dead letters an admin asked to replay (one that fails again stays dead)."""
        for dead_letter_id, event in self.events.replays(sink.name):
            replayed = sink.send([event])
            if replayed.delivered:
                self.events.replayed(dead_letter_id, error="", attempts=1)
            elif replayed.failed is not None:
                failure = replayed.failed
                self.events.replayed(dead_letter_id, error=failure.error, attempts=failure.attempts)

    def run(self, stop: threading.Event) -> None:
        """Pump every sink in its own thread until ``stop`` is set; prune on the way."""
        threads = [
            threading.Thread(target=self._pump, args=(sink, stop), name=f"publish-{sink.name}")
            for sink in self.sinks
        ]
        for thread in threads:
            thread.start()
        while not stop.wait(PRUNE_EVERY_S if self.keep else 3600.0):
            if self.keep is not None:
                self._prune(self.keep)
        for thread in threads:
            thread.join()
        for sink in self.sinks:
            sink.close()

    def _pump(self, sink: Sink, stop: threading.Event) -> None:
        """Pump ``sink`` until ``stop``; an unexpected error stops the whole process (its
        supervisor starts it again), so a dead thread cannot leave a sink silently behind."""
        try:
            self._pump_until(sink, stop)
        except Exception:
            click.echo(f"publish {sink.name}: stopped by an unexpected error", err=True)
            traceback.print_exc()
            self.crashed = True
            stop.set()

    def _pump_until(self, sink: Sink, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                done = self.pump_once(sink)
                waiting, problem = done.waiting, "" if done.settled else done.problem
            except (SQLAlchemyError, DomainError) as error:
                waiting, problem = 1, f"database: {error}"
            if problem:
                failures += 1
                if failures == 1:
                    click.echo(f"publish {sink.name}: {problem}; retrying with back-off", err=True)
                stop.wait(SINK_BACKOFF.delay(failures))
                continue
            if failures:
                click.echo(f"publish {sink.name}: delivering again", err=True)
                failures = 0
            if waiting < self.batch:
                stop.wait(self.poll_s)

    def _prune(self, keep: dt.timedelta) -> None:
        try:
            self.events.prune([s.name for s in self.sinks], before=utcnow() - keep)
        except SQLAlchemyError as error:
            click.echo(f"publish: pruning delivered events failed: {error}", err=True)


def mqtt_settings(environ: Mapping[str, str]) -> MqttSettings | None:
    """The broker settings from FERRULE_MQTT_* (None: FERRULE_MQTT_HOST is not set)."""
    host = environ.get("FERRULE_MQTT_HOST", "")
    if not host:
        return None
    tls = _flag(environ, "FERRULE_MQTT_TLS")
    return MqttSettings(
        host=host,
        port=_number(environ, "FERRULE_MQTT_PORT", 8883 if tls else 1883, int),
        tls=tls,
        ca_file=environ.get("FERRULE_MQTT_CA_FILE") or None,
        username=environ.get("FERRULE_MQTT_USERNAME") or None,
        password=environ.get("FERRULE_MQTT_PASSWORD") or None,
        client_id=environ.get("FERRULE_MQTT_CLIENT_ID") or "ferrule-publish",
        redeliver=dt.timedelta(
            seconds=_number(environ, "FERRULE_MQTT_REDELIVER_S", SETTLE.total_seconds(), float)
        ),
        enterprise=environ.get("FERRULE_UNS_ENTERPRISE") or "ferrule",
        area=environ.get("FERRULE_UNS_AREA") or "production",
    )


def webhook_settings(environ: Mapping[str, str]) -> WebhookSettings | None:
    """The webhook settings from FERRULE_WEBHOOK_* (None: FERRULE_WEBHOOK_URL is not set)."""
    url = environ.get("FERRULE_WEBHOOK_URL", "")
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise click.ClickException(f"FERRULE_WEBHOOK_URL={url} is not an http:// or https:// URL.")
    secret = environ.get("FERRULE_WEBHOOK_SECRET", "")
    if not secret:
        raise click.ClickException(
            "FERRULE_WEBHOOK_SECRET is not set: webhook requests are signed with it "
            "(see docs/events.md)."
        )
    return WebhookSettings(
        url=url,
        secret=secret,
        attempts=_number(environ, "FERRULE_WEBHOOK_ATTEMPTS", 6, int),
        backoff=Backoff(first_s=_number(environ, "FERRULE_WEBHOOK_BACKOFF_S", 0.5, float)),
    )


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _number(environ: Mapping[str, str], name: str, default: Any, kind: type[Any]) -> Any:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise click.ClickException(f"{name}={text} is not a positive number.")
    return value


def build_sinks(events: Events, environ: Mapping[str, str]) -> list[Sink]:
    """The sinks the environment configures (docs/events.md)."""
    sinks: list[Sink] = []
    broker = mqtt_settings(environ)
    if broker is not None:
        sinks.append(MqttSink(broker, events.plant))
    webhook = webhook_settings(environ)
    if webhook is not None:
        sinks.append(WebhookSink(webhook))
    return sinks


@click.command("publish")
@click.option(
    "--database-url",
    envvar=URL_VARIABLE,
    default=DEFAULT_URL,
    show_default=True,
    help=f"SQLAlchemy URL of the database (or set {URL_VARIABLE}).",
)
@click.option("--batch", default=BATCH, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--keep-days",
    envvar="FERRULE_EVENTS_KEEP_DAYS",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Delete delivered events older than this many days (default: keep them).",
)
def publish_command(database_url: str, batch: int, keep_days: float | None) -> None:
    """Deliver the event outbox to MQTT and webhooks until stopped (docs/events.md)."""
    db = Database.from_url(database_url)
    events = Events(db)
    sinks = build_sinks(events, os.environ)
    if not sinks:
        click.echo(
            "publish: no sink configured (set FERRULE_MQTT_HOST or FERRULE_WEBHOOK_URL); "
            "events stay in the outbox",
            err=True,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    keep = dt.timedelta(days=keep_days) if keep_days else None
    click.echo(f"publish: delivering {db.url} to {', '.join(s.name for s in sinks) or 'nothing'}")
    publisher = Publisher(events, sinks, batch=batch, keep=keep)
    try:
        publisher.run(stop)
    finally:
        db.dispose()
    if publisher.crashed:
        raise SystemExit(1)
