"""Pure parts of execution: numbering, sampling, routing decisions, data validation, tag ages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dsl.loader import load
from dsl.model import Plant, Sampling, SamplingRule
from engine.floor.environment import reading_quality
from engine.floor.routing import Route, decide
from engine.floor.sampling import decide as sample
from engine.floor.sampling import draw
from engine.floor.tagsource import TagReading
from engine.floor.validation import InvalidData, validate
from engine.infra.numbering import PatternError, bind

ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


@pytest.fixture(scope="module")
def acme() -> Plant:
    plant = load(ACME).plant
    assert plant is not None
    return plant


def test_number_pattern_fills_dates_sequence_and_work_order() -> None:
    pattern = bind("HA{yy}{mm}-{seq:5}/{wo}", day=dt.date(2026, 11, 3), work_order="WO7")
    assert pattern.render(42) == "HA2611-00042/WO7"
    assert pattern.scope == "HA2611-{seq}/WO7"
    with pytest.raises(PatternError) as unknown:
        bind("X{week}{seq:3}", day=dt.date(2026, 1, 1), work_order="W")
    assert str(unknown.value) == (
        "unknown placeholder '{week}' in number pattern 'X{week}{seq:3}'; "
        "use {yyyy} {yy} {mm} {dd} {seq:N} or {wo}"
    )


def test_sampling_every_first_and_percent_are_deterministic() -> None:
    every = SamplingRule(Sampling.EVERY, 10)
    picked = [
        sample(every, ordinal=n, item_number="x", gate_name="g").sampled for n in range(1, 13)
    ]
    assert [n for n, chosen in enumerate(picked, start=1) if chosen] == [1, 11]
    first = SamplingRule(Sampling.FIRST, 2)
    picked = [sample(first, ordinal=n, item_number="x", gate_name="g").sampled for n in (1, 2, 3)]
    assert picked == [True, True, False]
    percent = SamplingRule(Sampling.PERCENT, 30)
    decisions = [
        sample(percent, ordinal=1, item_number=f"U{n}", gate_name="g") for n in range(2000)
    ]
    share = sum(d.sampled for d in decisions) / len(decisions)
    assert 0.25 < share < 0.35
    assert decisions[5].draw == round(draw("U5", "g"), 6)
    assert sample(percent, ordinal=1, item_number="U5", gate_name="g") == decisions[5]


def test_routing_picks_the_most_severe_failure_and_limits_rework(acme: Plant) -> None:
    routing = acme.routings["harness-a"]
    crimp = routing.operation("crimp")
    pull, height = crimp.gates
    assert decide(routing, crimp, [], {}).route is Route.NEXT
    assert decide(routing, routing.operation("test"), [], {}).route is Route.COMPLETED
    assert decide(routing, crimp, [height, pull], {}).route is Route.NONCONFORMANCE
    rework = decide(routing, crimp, [height], {"crimp": 1})
    assert (rework.route, rework.operation) == (Route.REWORK, "crimp")
    exceeded = decide(routing, crimp, [height], {"crimp": 2})
    assert (exceeded.route, exceeded.operation) == (Route.NONCONFORMANCE, "test")


def test_validation_converts_units_and_names_every_problem(acme: Plant) -> None:
    cut = acme.routings["harness-a"].operation("cut")
    values = validate(cut, {"length": "19.69", "strip_length": 7}, {"length": "in"})
    assert round(values[0].number or 0, 3) == 500.126
    with pytest.raises(InvalidData) as bad:
        validate(cut, {"length": 500, "strip_length": "seven"}, {"length": "bar"})
    assert [p.message for p in bad.value.problems] == [
        "length: 'bar' measures pressure, not length; enter it in mm",
        "strip_length: 'seven' is not a number; enter digits like 1.55",
    ]
    crimp = acme.routings["harness-a"].operation("crimp")
    with pytest.raises(InvalidData) as choice:
        validate(crimp, {"pull_force": 80, "crimp_height": 1.5, "visual": "bur"})
    assert choice.value.message == (
        "visual: 'bur' is not one of ok, burr, bellmouth missing; did you mean 'burr'?"
    )


def test_tag_quality_goes_stale_by_receive_time_not_by_source_time(acme: Plant) -> None:
    """An unchanging OPC UA value keeps an old source time while the adapter still hears it."""
    tag = acme.tag("press1.pressure")
    now = dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC)
    fresh = TagReading(70.0, "good", now - dt.timedelta(seconds=1), now)
    unchanged = TagReading(70.0, "good", now - dt.timedelta(hours=6), now)
    old_receive = TagReading(70.0, "good", None, now - dt.timedelta(seconds=6))
    bad = TagReading(None, "bad", None, now)
    assert [reading_quality(tag, r, now) for r in (fresh, unchanged, old_receive, bad)] == [
        "good", "good", "stale", "bad",
    ]  # fmt: skip
