"""The event rules facade: the one evaluator per site (``ferrule rules``) that runs the deployed
plant's event rules on live tags, and the list of recorded firings for pages and the API.

:class:`RuleEvaluator` reads the tag source once per step, steps every rule's episode machine
(:mod:`engine.floor.event_rules`) and records each firing in its own transaction
(:mod:`engine.commands.event_rules`). A firing that could not be recorded (the database is down)
is kept and recorded first at the next step, so a decided firing is never lost while the process
runs. See docs/event-rules.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dsl import env as keys
from dsl.model import EventRule, Plant
from dsl.tagenv import rule_tags
from engine.commands import event_rules, versions
from engine.commands.event_rules import ActionOutcome, FiringInfo
from engine.errors import Invalid
from engine.floor.environment import ReadingSeen, add_tags, reading_seen, site_today
from engine.floor.event_rules import EpisodeMachine, Verdict
from engine.floor.tagsource import SetpointWriter, TagSource
from engine.infra.db import Database
from engine.infra.limits import check_names
from engine.records.base import utcnow

log = logging.getLogger("ferrule.event_rules")
MAX_FIRINGS = 500
"""The most firings one listing returns."""


@dataclass(frozen=True, slots=True)
class _Decided:
    """A firing decided by a rule's machine, waiting to be recorded."""

    rule: EventRule
    verdict: Verdict
    readings: tuple[ReadingSeen, ...]
    written: dict[int, ActionOutcome]
    at: dt.datetime


class RuleEvaluator:
    """Every event rule of one deployed config version over one tag source. ``monotonic``
    clocks the ``for`` timers and rate limits; ``clock`` stamps the records."""

    def __init__(
        self,
        db: Database,
        tags: TagSource,
        *,
        writer: SetpointWriter | None,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self.db, self.tags, self.writer = db, tags, writer
        self.clock, self.monotonic = clock, monotonic
        with db.session() as session:
            self.version_id, self.plant = versions.active_plant(session)
            fired = event_rules.rules_with_firings(session)
        rules = self.plant.event_rules.values()
        self.machines = [EpisodeMachine(rule, fired=rule.name in fired) for rule in rules]
        self._names = {
            rule.name: sorted(
                rule_tags(rule.when.keys | (rule.rearm.keys if rule.rearm else frozenset()))
            )
            for rule in rules
        }
        self.tag_names = frozenset().union(*self._names.values())
        self._waiting: list[_Decided] = []

    def step(self) -> list[FiringInfo]:
        """Record what is still waiting, read the tags, evaluate every rule once and record
        what fired; the firings recorded."""
        recorded = self._record_waiting()
        now = self.clock()
        readings = self.tags.read(self.tag_names)
        env: dict[str, Any] = {
            keys.NOW: keys.datetime_value(now),
            keys.TODAY: keys.date_value(site_today(self.plant, now)),
        }
        add_tags(env, self.plant, self.tag_names, readings, now)
        moment = self.monotonic()
        for machine in self.machines:
            verdict = machine.step(env, moment)
            if verdict is Verdict.NONE:
                continue
            rule = machine.rule
            seen = tuple(
                reading_seen(self.plant.tag(name), readings.get(name), now)
                for name in self._names[rule.name]
            )
            written = {
                index: event_rules.write_setpoint(action, self.plant, env, self.writer)
                for index, action in enumerate(rule.actions)
                if action.kind == "write" and verdict is Verdict.FIRE
            }
            self._waiting.append(_Decided(rule, verdict, seen, written, now))
        return recorded + self._record_waiting()

    def _record_waiting(self) -> list[FiringInfo]:
        recorded: list[FiringInfo] = []
        while self._waiting:
            decided = self._waiting[0]
            with self.db.transaction() as session:
                info = event_rules.record_firing(
                    session,
                    decided.rule,
                    decided.verdict,
                    version_id=self.version_id,
                    readings=decided.readings,
                    written=decided.written,
                    at=decided.at,
                )
            self._waiting.pop(0)
            log.warning("event rule %s %s: %s", info.rule, info.outcome, info.because)
            recorded.append(info)
        return recorded


class EventRules:
    """Event rules over one database: firings for people, the evaluator for the rules process."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], dt.datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock or utcnow
        self.monotonic = monotonic

    def firings(self, *, rule: str | None = None, limit: int = 100) -> list[FiringInfo]:
        """The latest firings and suppressions (of every rule, or of ``rule``), newest first."""
        if not 1 <= limit <= MAX_FIRINGS:
            raise Invalid(f"limit must be between 1 and {MAX_FIRINGS}.", field="limit")
        if rule is not None:
            check_names(rule=rule)
        with self.db.session() as session:
            return event_rules.recent_firings(session, rule=rule, limit=limit)

    def evaluator(self, tags: TagSource, writer: SetpointWriter | None) -> RuleEvaluator:
        """An evaluator of the deployed config version's rules (all armed, except those that
        fired before: they wait to re-arm)."""
        return RuleEvaluator(
            self.db, tags, writer=writer, clock=self.clock, monotonic=self.monotonic
        )

    def active_plant(self) -> Plant:
        """The deployed plant (to know which tags and rules the process watches)."""
        return versions.active_plant(self.db)[1]

    def run(
        self,
        tags: TagSource,
        writer: SetpointWriter | None,
        stop: threading.Event,
        *,
        period_s: float = 0.05,
        reload_s: float = 5.0,
    ) -> None:
        """Evaluate every ``period_s`` until ``stop`` is set; a newly deployed config version is
        picked up within ``reload_s`` (its rules start armed). A failing step (the database is
        down) is logged and retried; nothing decided is lost."""
        evaluator = self.evaluator(tags, writer)
        checked = self.monotonic()
        while not stop.is_set():
            try:
                evaluator.step()
                if self.monotonic() - checked >= reload_s:
                    checked = self.monotonic()
                    with self.db.session() as session:
                        deployed = versions.active_version_id(session)
                    if deployed != evaluator.version_id:
                        evaluator = self.evaluator(tags, writer)
            except Exception:
                log.exception("event rules step failed; retrying")
                stop.wait(1.0)
            stop.wait(period_s)
