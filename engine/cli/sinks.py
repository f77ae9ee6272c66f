"""What every delivery sink of ``ferrule publish`` shares: the :class:`Sink` protocol, the
:class:`Sent` report and the exponential back-off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.commands.events import Event


@dataclass(frozen=True, slots=True)
class Failure:
    """An event a sink gave up on after ``attempts`` tries (it becomes a dead letter)."""

    event: Event
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class Sent:
    """How a :meth:`Sink.send` went: the number of leading events the other side acknowledged,
    the event after them that the sink gave up on (None: it will try it again later), and why
    the rest was not delivered."""

    delivered: int
    failed: Failure | None = None
    problem: str = ""


class Sink(Protocol):
    """Somewhere events go, in order: an MQTT broker, a webhook. ``settle``: how long after its
    acknowledgement an event is safe at the other side (engine.commands.events.advance)."""

    name: str

    @property
    def settle(self) -> dt.timedelta: ...

    def open(self) -> bool:
        """Connect if not connected; True when that made a new connection (the other side may
        have lost what it acknowledged within ``settle`` before: the publisher sends it again)."""
        ...

    def send(self, events: Sequence[Event]) -> Sent:
        """Deliver ``events`` in order; stop at the first one not acknowledged."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``first_s``, doubling up to ``max_s``."""

    first_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` (≥ 1) failures in a row."""
        return float(min(self.max_s, self.first_s * 2 ** max(0, failures - 1)))
