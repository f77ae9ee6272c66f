"""``==`` and ``!=`` on numbers allow for binary floating point; whole numbers compare exactly."""

from __future__ import annotations

from typing import Any

import pytest
from expression_helpers import compiled, environment

from dsl._typecheck import equal
from dsl.rules import Outcome

P, F = Outcome.PASS, Outcome.FAIL


@pytest.mark.parametrize(
    ("source", "values", "outcome"),
    [
        ("10 % + 5 % == 15 %", {}, P),
        ("10 % + 5 % != 15 %", {}, F),
        ("0.1 + 0.2 == 0.3", {}, P),
        ("10.0001 == 10", {}, F),
        ("10.0001 != 10", {}, P),
        ("cnc1.tool_life + 5 % == 15 %", {"tool_life": (10, "%")}, P),
        ("cnc1.tool_life + 5 % != 15 %", {"tool_life": (10, "%")}, F),
        ("cnc1.tool_life == 10.0001 %", {"tool_life": (10, "%")}, F),
        ("cnc1.tool_life + 5 % in [15 %, 20 %]", {"tool_life": (10, "%")}, P),
        ("cnc1.tool_life + 5 % not in [15 %, 20 %]", {"tool_life": (10, "%")}, F),
        ("crimp_height * 3 == 0.3 mm", {"crimp_height": (0.1, "mm")}, P),
        ("press1.mode == 1000000001", {"mode": 1e9}, F),
        ("press1.mode != 1000000001", {"mode": 1e9}, P),
    ],
)
def test_equality_outcome(source: str, values: dict[str, Any], outcome: Outcome) -> None:
    rule = compiled(source)
    env = environment(**values)
    assert rule.evaluate(env) is outcome
    assert rule.explain(env).outcome is outcome


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (0.1 + 0.2, 0.3, True),
        (1e6, 1e6 * (1 + 1e-10), True),
        (1e6, 1e6 * (1 + 1e-8), False),
        (0.0, 1e-13, True),
        (0.0, 1e-11, False),
        (1e9, 1e9 + 1, False),
        (2, 2.0, True),
    ],
)
def test_equal(a: float, b: float, same: bool) -> None:
    assert equal(a, b) is same
    assert equal(b, a) is same
