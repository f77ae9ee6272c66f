"""Run rules against the patterns that define them.

Definitions: Western Electric Co., *Statistical Quality Control Handbook* (1956), rules 1–4, as
listed in Montgomery, *Introduction to Statistical Quality Control*, 7th ed., section 5.3.6; and
L. S. Nelson, "The Shewhart Control Chart — Tests for Special Causes", *Journal of Quality
Technology* 16(4), 1984, tests 1–8. Each pattern is given as distances from the center line in
sigmas; the rule must fire exactly where the pattern completes.
"""

from __future__ import annotations

import pytest

from engine.floor.spc_rules import MEMORY, RULES, RuleState, replay


def _fired_at(rule: str, zs: list[float]) -> list[int]:
    """1-based positions where ``rule`` fires (the value is the z itself)."""
    state = RuleState()
    return [i for i, z in enumerate(zs, 1) if state.fired(z, z, [rule])]


ALTERNATING = [0.5 if i % 2 else -0.5 for i in range(14)]


@pytest.mark.parametrize(
    ("rule", "zs", "expected"),
    [
        ("we1", [0.5, 3.2, -2.9, -3.01], [2, 4]),
        ("nelson1", [0.5, 3.2, -2.9, -3.01], [2, 4]),
        # 2 of 3 beyond 2 sigma on one side; the second one fires, not a middle point.
        ("we2", [2.5, 0.1, 2.2, 0.3], [3]),
        ("we2", [2.5, -2.2, 0.1], []),
        ("nelson5", [0.0, 2.1, 2.1], [3]),
        # 4 of 5 beyond 1 sigma on one side.
        ("we3", [1.5, 1.2, 0.2, 1.1, 1.9], [5]),
        ("we3", [1.5, -1.2, 0.2, 1.1, 1.9], []),
        ("nelson6", [-1.5, -1.2, -1.1, -1.9], [4]),
        # Runs on one side of the center line: 8 (WE 4), 9 (Nelson 2); a point on it breaks one.
        ("we4", [0.1] * 7 + [0.0] + [0.2] * 8, [16]),
        ("nelson2", [-0.3] * 9, [9]),
        ("nelson2", [-0.3] * 8, []),
        # Six points steadily rising (five increases); an equal value breaks the run.
        ("nelson3", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], [6]),
        ("nelson3", [0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5], []),
        ("nelson3", [0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1], [6, 7]),
        ("nelson4", ALTERNATING, [14]),
        ("nelson4", ALTERNATING[:13], []),
        ("nelson7", [0.5, -0.5] * 7 + [0.9], [15]),
        ("nelson7", [0.5, -0.5] * 7 + [1.1], []),
        ("nelson8", [1.5, -1.5] * 4, [8]),
        ("nelson8", [1.5, -1.5, 0.5, 1.5, -1.5, 1.5, -1.5, 1.5], []),
    ],
)
def test_rule_fires_where_its_pattern_completes(
    rule: str, zs: list[float], expected: list[int]
) -> None:
    assert _fired_at(rule, zs) == expected


def test_replaying_the_last_points_gives_the_same_state_as_the_whole_history() -> None:
    history = [((i * 37) % 11 - 5) / 2.5 for i in range(200)]
    rules = list(RULES)
    whole = RuleState()
    for z in history:
        whole.add(z, z)
    recent = replay((z, z) for z in history[-MEMORY:])
    for z in (0.5, 0.6, 0.7, 2.5, 2.6, -3.5):
        assert recent.fired(z, z, rules) == whole.fired(z, z, rules)


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SPC rule 'we9'"):
        RuleState().fired(0.0, 0.0, ["we9"])
