"""The Z1.4-2003 §8 switching rules, skip-lot and the lot decision: every transition."""

from __future__ import annotations

import pytest

from engine.floor import aql
from engine.floor.aql import AqlError, Severity, SkipLot, Switching

# Lot 2,000, level II, AQL 1.0: K, n = 125; normal Ac 3 (one step tighter, 0.65: Ac 2),
# tightened Ac 2, reduced n = 50 Ac 1.
NORMAL = aql.plan(2000, "II", 1.0, Severity.NORMAL)
TIGHTENED = aql.plan(2000, "II", 1.0, Severity.TIGHTENED)
REDUCED = aql.plan(2000, "II", 1.0, Severity.REDUCED)
SMALL = aql.plan(2000, "II", 0.10, Severity.NORMAL)  # K at 0.10: Ac 0


def _lots(state: Switching, used: aql.Plan, defects: list[int], **flags: bool) -> Switching:
    for count in defects:
        state = aql.after_lot(state, used, defects=count, **flags)
    return state


def test_normal_goes_tightened_on_the_second_rejection_within_five_lots() -> None:
    state = _lots(Switching(), NORMAL, [4, 0, 0, 0])
    assert state.severity is Severity.NORMAL
    assert state.recent == (False, True, True, True)
    assert _lots(state, NORMAL, [9]).severity is Severity.TIGHTENED


def test_two_rejections_six_lots_apart_stay_normal() -> None:
    state = _lots(Switching(), NORMAL, [4, 0, 0, 0, 0, 4])
    assert state.severity is Severity.NORMAL
    assert state.recent == (True, True, True, True, False)


def test_tightened_goes_back_to_normal_after_five_consecutive_accepted_lots() -> None:
    state = Switching(severity=Severity.TIGHTENED)
    state = _lots(state, TIGHTENED, [0, 0, 0, 0])
    assert (state.severity, state.streak) == (Severity.TIGHTENED, 4)
    state = _lots(state, TIGHTENED, [3])  # a rejection starts the count again
    assert (state.severity, state.streak, state.rejected_on_tightened) == (
        Severity.TIGHTENED, 0, 1,
    )  # fmt: skip
    state = _lots(state, TIGHTENED, [2, 2, 2, 2, 2])
    assert state == Switching(severity=Severity.NORMAL, accepted_run=5)


def test_five_rejections_on_tightened_discontinue_inspection_until_reinstated() -> None:
    state = _lots(Switching(severity=Severity.TIGHTENED), TIGHTENED, [3, 0, 3, 0, 3, 3])
    assert (state.severity, state.rejected_on_tightened) == (Severity.TIGHTENED, 4)
    state = _lots(state, TIGHTENED, [5])
    assert state.severity is Severity.DISCONTINUED
    with pytest.raises(AqlError) as caught:
        aql.must_inspect(state, None)
    assert str(caught.value) == "inspection is discontinued; quality must reinstate it first"
    with pytest.raises(AqlError):
        aql.after_lot(state, TIGHTENED, defects=0)
    assert aql.reinstate(state) == Switching(severity=Severity.TIGHTENED)
    with pytest.raises(AqlError) as refused:
        aql.reinstate(Switching())
    assert str(refused.value) == "inspection is normal, not discontinued"


def test_the_switching_score_with_ac_of_two_or_more_counts_the_tighter_aql() -> None:
    assert aql.tighter_acceptance(NORMAL) == 2
    state = _lots(Switching(), NORMAL, [2, 0])
    assert state.score == 6
    state = _lots(state, NORMAL, [3])  # accepted at 1.0 but not at 0.65: back to 0
    assert (state.severity, state.score) == (Severity.NORMAL, 0)


def test_the_switching_score_with_ac_zero_or_one_counts_accepted_lots() -> None:
    state = _lots(Switching(), SMALL, [0, 0, 0])
    assert state.score == 6
    assert _lots(state, SMALL, [1]).score == 0


def test_normal_goes_reduced_at_score_30_only_when_steady_and_approved() -> None:
    nine = _lots(Switching(), NORMAL, [0] * 9, reduced_allowed=True)
    assert (nine.severity, nine.score) == (Severity.NORMAL, 27)
    assert _lots(nine, NORMAL, [0]).severity is Severity.NORMAL  # not approved
    assert _lots(nine, NORMAL, [0], reduced_allowed=True, steady=False).severity is (
        Severity.NORMAL
    )
    reduced = _lots(nine, NORMAL, [0], reduced_allowed=True)
    assert reduced == Switching(severity=Severity.REDUCED, accepted_run=10)


def test_reduced_goes_back_to_normal_on_a_rejection_or_irregular_production() -> None:
    reduced = Switching(severity=Severity.REDUCED)
    assert _lots(reduced, REDUCED, [1, 0]).severity is Severity.REDUCED
    assert _lots(reduced, REDUCED, [2]).severity is Severity.NORMAL
    assert _lots(reduced, REDUCED, [0], steady=False).severity is Severity.NORMAL
    assert aql.production_irregular(reduced) == Switching(severity=Severity.NORMAL)
    assert aql.production_irregular(Switching()) == Switching()


def test_skip_lot_inspects_one_lot_in_every_after_the_accepted_run() -> None:
    skip = SkipLot(after=3, every=4)
    state = _lots(Switching(), NORMAL, [0, 0])
    assert aql.must_inspect(state, skip)
    state = _lots(state, NORMAL, [0])
    pattern = []
    for _ in range(8):
        inspect = aql.must_inspect(state, skip)
        pattern.append(inspect)
        state = aql.after_lot(state, NORMAL, defects=0) if inspect else aql.after_skipped(state)
    assert pattern == [False, False, False, True, False, False, False, True]
    state = aql.after_lot(state, NORMAL, defects=4)  # a rejection ends skipping
    assert aql.must_inspect(state, skip)
    assert aql.must_inspect(Switching(severity=Severity.TIGHTENED, accepted_run=50), skip)
    assert aql.must_inspect(Switching(accepted_run=50), None)


@pytest.mark.parametrize(
    ("inspected", "defects", "accepted"),
    [(0, 0, None), (124, 3, None), (125, 3, True), (125, 2, True), (7, 4, False), (125, 4, False)],
)
def test_the_lot_decision_waits_for_all_samples_but_rejects_at_re(
    inspected: int, defects: int, accepted: bool | None
) -> None:
    assert aql.decide(NORMAL, inspected=inspected, defects=defects) == aql.Decision(
        inspected, defects, accepted
    )
