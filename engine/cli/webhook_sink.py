"""The webhook sink of ``ferrule publish``: one signed HTTP POST per event, in order.

Each request carries the event's JSON payload and these headers (docs/events.md)::

    Content-Type: application/json
    Ferrule-Event-Id: <the event's stable id>
    Ferrule-Timestamp: <seconds since 1970, when this attempt was signed>
    Ferrule-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>

A 2xx answer delivers the event. Anything else (another status, a timeout, a refused
connection) is retried with exponential back-off; after the last attempt the event becomes a
dead letter and delivery moves on to the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.cli.sinks import Backoff, Failure, Sent
from engine.commands.events import SETTLE, Event

EVENT_ID_HEADER = "Ferrule-Event-Id"
TIMESTAMP_HEADER = "Ferrule-Timestamp"
SIGNATURE_HEADER = "Ferrule-Signature"
DEFAULT_BACKOFF = Backoff(first_s=0.5, max_s=30.0)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where to POST, the shared secret, and how hard to try (from the environment)."""

    url: str
    secret: str
    attempts: int = 6
    backoff: Backoff = DEFAULT_BACKOFF
    timeout_s: float = 5.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Ferrule-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookSink:
    """POSTs events one at a time to one URL; ``sleep`` is replaceable for tests."""

    name = "webhook"
    settle = SETTLE  # a 2xx answer is final; the receiver does not lose what it acknowledged

    def __init__(
        self, settings: WebhookSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.sleep = sleep

    def send(self, events: Sequence[Event]) -> Sent:
        """Deliver each event with retries; give up on the first that keeps failing."""
        for index, event in enumerate(events):
            error = self._deliver_with_retries(event)
            if error:
                failure = Failure(event, self.settings.attempts, error)
                return Sent(index, failure, problem=f"{self.settings.url} answered {error}")
        return Sent(len(events))

    def open(self) -> bool:
        """Nothing to open: every request has its own connection."""
        return False

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""

    def _deliver_with_retries(self, event: Event) -> str:
        """ "" once delivered, else the last attempt's error."""
        error = ""
        for attempt in range(1, self.settings.attempts + 1):
            error = self.post(event)
            if not error:
                return ""
            if attempt < self.settings.attempts:
                self.sleep(self.settings.backoff.delay(attempt))
        return error

    def post(self, event: Event) -> str:
        """One signed POST of ``event``: "" on a 2xx answer, else what went wrong."""
        body = event.payload.encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310  (the URL is the operator's setting)
            self.settings.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                EVENT_ID_HEADER: event.event_id,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.settings.secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as answer:  # noqa: S310
                status = int(answer.status)
        except urllib.error.HTTPError as refused:
            return f"HTTP {refused.code} {refused.reason}"
        except (urllib.error.URLError, OSError) as failed:
            return f"not delivered: {getattr(failed, 'reason', failed)}"
        return "" if 200 <= status < 300 else f"HTTP {status}"
