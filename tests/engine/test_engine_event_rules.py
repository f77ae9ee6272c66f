"""Event rules: the episode state machine (fires once, the ``for`` timer, re-arm, the rate
limit, unknown readings) on an injected clock, and the evaluator recording firings with their
actions (equipment held, setpoint written), audit rows and outbox events, on acme-harness's
``press-overpressure`` rule (``press1.pressure > 180 bar`` for 10 s, re-armed below 150 bar, at
most 1 per 10 min)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from testdata import ACME

from dsl.env import tag_key
from dsl.loader import load_or_raise
from dsl.model import EventRule, Plant
from engine.commands import nonconformances
from engine.commands.equipment import status
from engine.errors import Invalid
from engine.facade.audit import AuditTrail
from engine.facade.event_rules import EventRules, RuleEvaluator
from engine.floor.event_rules import EpisodeMachine, Phase, Verdict
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.events import OutboxEvent

BAR = 1e5
RULE: EventRule = load_or_raise(ACME).event_rules["press-overpressure"]
PRESSURE = tag_key("press1.pressure")
UNKNOWN: dict[str, Any] = {}
"""An environment without the pressure: its tag is bad or stale."""


def bar(value: float) -> dict[str, Any]:
    return {PRESSURE: value * BAR}


def run(machine: EpisodeMachine, env: dict[str, Any], start: float, end: float) -> list[float]:
    """Step ``machine`` once a second from ``start`` to ``end`` (inclusive); when it fired."""
    fired = []
    for second in range(int(start), int(end) + 1):
        if machine.step(env, float(second)) is Verdict.FIRE:
            fired.append(float(second))
    return fired


def test_a_rule_fires_once_when_its_condition_has_held_for_its_duration() -> None:
    machine = EpisodeMachine(RULE)
    assert run(machine, bar(190), 0, 60) == [10.0]
    assert machine.phase is Phase.FIRED


def test_a_condition_that_turns_false_before_the_duration_ends_the_episode() -> None:
    machine = EpisodeMachine(RULE)
    assert run(machine, bar(190), 0, 9) == []
    assert run(machine, bar(100), 10, 10) == []
    assert machine.phase is Phase.ARMED
    assert run(machine, bar(190), 11, 30) == [21.0]


def test_it_rearms_only_when_the_rearm_condition_holds() -> None:
    rule = dataclasses.replace(RULE, at_most=None)
    machine = EpisodeMachine(rule)
    assert run(machine, bar(190), 0, 10) == [10.0]
    assert run(machine, bar(170), 11, 20) == []  # below when, above rearm: still the same episode
    assert run(machine, bar(190), 21, 40) == []
    assert run(machine, bar(140), 41, 41) == []
    assert machine.phase is Phase.ARMED
    assert run(machine, bar(190), 42, 60) == [52.0]


def test_without_rearm_the_condition_turning_false_rearms() -> None:
    machine = EpisodeMachine(dataclasses.replace(RULE, rearm=None, at_most=None, for_s=0.0))
    assert run(machine, bar(190), 0, 3) == [0.0]
    assert run(machine, bar(170), 4, 4) == []
    assert run(machine, bar(190), 5, 5) == [5.0]


def test_the_rate_limit_suppresses_episodes_beyond_it_and_counts_only_firings() -> None:
    machine = EpisodeMachine(dataclasses.replace(RULE, for_s=0.0))
    verdicts = []
    for second, pressure in ((0, 190), (1, 140), (100, 190), (101, 140), (599, 190), (600, 140)):
        verdicts.append(machine.step(bar(pressure), float(second)))
    assert verdicts[0::2] == [Verdict.FIRE, Verdict.SUPPRESS, Verdict.SUPPRESS]
    assert machine.step(bar(190), 601.0) is Verdict.FIRE  # 10 min after the firing at 0


def test_unknown_never_fires_and_the_timer_does_not_count_unknown_time() -> None:
    machine = EpisodeMachine(RULE)
    assert run(machine, bar(190), 0, 5) == []  # 5 s counted
    assert run(machine, UNKNOWN, 6, 100) == []
    assert machine.phase is Phase.PENDING
    assert machine.true_for_s == 5.0
    assert run(machine, bar(190), 101, 105) == []  # 101 restarts the count: 9 s by 105
    assert machine.true_for_s == 9.0
    assert run(machine, bar(190), 106, 106) == [106.0]


def test_unknown_neither_clears_a_fired_episode_nor_rearms_it() -> None:
    machine = EpisodeMachine(dataclasses.replace(RULE, at_most=None))
    assert run(machine, bar(190), 0, 10) == [10.0]
    assert run(machine, UNKNOWN, 11, 50) == []
    assert machine.phase is Phase.FIRED
    assert run(machine, bar(190), 51, 80) == []  # the same episode: no second firing


def test_unknown_while_armed_starts_nothing() -> None:
    machine = EpisodeMachine(dataclasses.replace(RULE, for_s=0.0))
    assert run(machine, UNKNOWN, 0, 100) == []
    assert machine.phase is Phase.ARMED


# ---------------------------------------------------------------- recording and acting


class Clock:
    """A steady clock and a wall clock that tests move by hand."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.start = dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def evaluator(
    db: Database, clock: Clock, tags: StaticTagSource, writer: RecordingSetpointWriter
) -> RuleEvaluator:
    return EventRules(db, clock.now, clock.monotonic).evaluator(tags, writer)


def steps(rules: RuleEvaluator, clock: Clock, until: float) -> list[str]:
    """Step once a second up to ``until``; the outcomes recorded."""
    recorded = []
    while clock.seconds <= until:
        recorded += [f"{f.rule} {f.outcome}" for f in rules.step()]
        clock.seconds += 1
    return recorded


def test_a_firing_holds_the_press_writes_the_setpoint_and_is_recorded_audited_and_published(
    db: Database, plant: Plant, clock: Clock
) -> None:
    tags = StaticTagSource({"press1.pressure": 190.0}, clock=clock.now)
    writer = RecordingSetpointWriter()
    rules = evaluator(db, clock, tags, writer)
    assert steps(rules, clock, 9) == []
    assert steps(rules, clock, 30) == ["press-overpressure fired"]
    assert writer.written == [("press1.target_force", 0.0)]
    (firing,) = EventRules(db).firings()
    with db.session() as session:
        (nc,) = nonconformances.nonconformances(session)
    assert (nc.subject, nc.defect_code, nc.opened_by, nc.open) == (
        "equipment crimp-press-1",
        "event-press-overpressure",
        "event-rules",
        True,
    )
    assert firing.to_json() == {
        "id": firing.id,
        "rule": "press-overpressure",
        "outcome": "fired",
        "at": "2026-11-03T08:00:10+00:00",
        "because": "Hydraulic pressure above the crimp die's 180 bar rating",
        "readings": [
            {
                "key": "press1.pressure",
                "value": 190.0,
                "unit": "bar",
                "quality": "good",
                "age_s": 0.0,
                "reason": "",
            }
        ],
        "actions": [
            {"action": "hold crimp-press-1", "outcome": "down", "ok": True},
            {
                "action": "nonconformance crimp-press-1",
                "outcome": f"nonconformance #{nc.id} opened",
                "ok": True,
            },
            {"action": "notify supervisor", "outcome": "supervisor notified", "ok": True},
            {"action": "write press1.target_force = 0 N", "outcome": "written", "ok": True},
        ],
        "config_version_id": firing.config_version_id,
    }
    with db.session() as session:
        assert status(session, "crimp-press-1").state == "down"
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.entity == "event_rule")
        ).all()
    assert [(e.entity_id, e.action) for e in events] == [("press-overpressure", "fire")]
    assert '"type":"event_rule.fire"' in events[0].payload
    assert AuditTrail(db).verify().ok


def test_an_episode_within_the_rate_limit_is_recorded_as_suppressed_without_acting(
    db: Database, plant: Plant, clock: Clock
) -> None:
    tags = StaticTagSource({"press1.pressure": 190.0}, clock=clock.now)
    writer = RecordingSetpointWriter()
    rules = evaluator(db, clock, tags, writer)
    assert steps(rules, clock, 12) == ["press-overpressure fired"]
    tags.set("press1.pressure", 140.0)
    assert steps(rules, clock, 14) == []
    tags.set("press1.pressure", 195.0)
    assert steps(rules, clock, 40) == ["press-overpressure suppressed"]
    suppressed = EventRules(db).firings(limit=1)[0]
    assert [a.outcome for a in suppressed.actions] == ["suppressed by at_most"] * 4
    assert writer.written == [("press1.target_force", 0.0)]
    assert AuditTrail(db).verify().ok


def test_a_bad_pressure_never_fires_and_a_restart_does_not_fire_the_same_episode_again(
    db: Database, plant: Plant, clock: Clock
) -> None:
    tags = StaticTagSource(clock=clock.now)
    tags.set_bad("press1.pressure", "press1: connection refused (since 3 s ago)")
    writer = RecordingSetpointWriter()
    rules = evaluator(db, clock, tags, writer)
    assert steps(rules, clock, 60) == []
    with db.session() as session:
        assert status(session, "crimp-press-1").state == "idle"
    tags.set("press1.pressure", 190.0)
    assert steps(rules, clock, 80) == ["press-overpressure fired"]
    restarted = evaluator(db, clock, tags, writer)
    assert steps(restarted, clock, 200) == []
    assert len(EventRules(db).firings()) == 1


def test_firings_refuse_a_limit_out_of_range(db: Database, plant: Plant) -> None:
    with pytest.raises(Invalid, match=r"^limit must be between 1 and 500\.$"):
        EventRules(db).firings(limit=0)
