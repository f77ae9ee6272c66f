"""Run rules of a control chart: Western Electric 1–4 and Nelson 1–8, evaluated point by point.

A point is described by its distance from the center line in sigmas (``z``) and its value. The
rules need at most the last 15 points, so :class:`RuleState` keeps run lengths and two short
windows instead of the history: adding a point costs the same with 10 or 10,000 points behind it,
and the state is rebuilt from the last :data:`MEMORY` points of a chart.

Definitions (Western Electric, *Statistical Quality Control Handbook*, 1956; Nelson, "The Shewhart
Control Chart — Tests for Special Causes", *Journal of Quality Technology* 16(4), 1984). A rule
fires at the point that completes its pattern; the "k of k+1" rules fire only when that point is
itself one of the k beyond the zone (on the same side), so one excursion is reported where it is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

MEMORY = 14
"""How many earlier points rebuild the state (the longest rule, Nelson 7, spans 15)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One run rule: its id in the plant language and what it means, as the operator reads it."""

    id: str
    description: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("we1", "one point beyond the 3-sigma control limits"),
        Rule("we2", "2 of 3 points in a row beyond 2 sigma on the same side"),
        Rule("we3", "4 of 5 points in a row beyond 1 sigma on the same side"),
        Rule("we4", "8 points in a row on the same side of the center line"),
        Rule("nelson1", "one point beyond the 3-sigma control limits"),
        Rule("nelson2", "9 points in a row on the same side of the center line"),
        Rule("nelson3", "6 points in a row steadily increasing or decreasing"),
        Rule("nelson4", "14 points in a row alternating up and down"),
        Rule("nelson5", "2 of 3 points in a row beyond 2 sigma on the same side"),
        Rule("nelson6", "4 of 5 points in a row beyond 1 sigma on the same side"),
        Rule("nelson7", "15 points in a row within 1 sigma of the center line"),
        Rule("nelson8", "8 points in a row beyond 1 sigma, on either side"),
    )
}


def _side(z: float) -> int:
    return (z > 0) - (z < 0)


@dataclass(frozen=True, slots=True)
class _Runs:
    """Run lengths ending at a point: on one side of the center line (``side``), steadily up or
    down (``monotonic``), alternating (``alternating``), within and beyond one sigma."""

    side: int = 0
    same_side: int = 0
    step: int = 0
    monotonic: int = 1
    alternating: int = 1
    within_one: int = 0
    beyond_one: int = 0


class RuleState:
    """What the rules remember of a chart's points, updated one point at a time."""

    __slots__ = ("_last_value", "_recent", "_runs")

    def __init__(self) -> None:
        self._recent: deque[float] = deque(maxlen=5)
        self._runs = _Runs()
        self._last_value: float | None = None

    def _next(self, z: float, value: float) -> _Runs:
        """The run lengths once the point (``z``, ``value``) is added."""
        runs, side = self._runs, _side(z)
        step = 0 if self._last_value is None else _side(value - self._last_value)
        return _Runs(
            side=side,
            same_side=runs.same_side + 1 if side != 0 and side == runs.side else abs(side),
            step=step,
            monotonic=(runs.monotonic + 1 if step == runs.step else 2) if step else 1,
            alternating=(runs.alternating + 1 if step == -runs.step else 2) if step else 1,
            within_one=runs.within_one + 1 if abs(z) < 1 else 0,
            beyond_one=runs.beyond_one + 1 if abs(z) > 1 else 0,
        )

    def add(self, z: float, value: float) -> None:
        """Take a point into the state."""
        self._runs = self._next(z, value)
        self._recent.append(z)
        self._last_value = value

    def fired(self, z: float, value: float, rules: Iterable[str]) -> tuple[str, ...]:
        """The rules among ``rules`` that the next point (``z``, ``value``) breaks; then the point
        is taken into the state."""
        runs = self._next(z, value)
        result = tuple(rule for rule in rules if self._breaks(rule, z, runs))
        self._runs = runs
        self._recent.append(z)
        self._last_value = value
        return result

    def _beyond(self, z: float, sigmas: float, window: int) -> int:
        """How many of the last ``window`` points (``z`` included) lie beyond ``sigmas`` on
        ``z``'s side."""
        side = _side(z)
        earlier = list(self._recent)[-(window - 1) :]
        return sum(1 for p in (*earlier, z) if p * side > sigmas)

    def _breaks(self, rule: str, z: float, runs: _Runs) -> bool:
        if rule in ("we1", "nelson1"):
            return abs(z) > 3
        if rule in ("we2", "nelson5"):
            return abs(z) > 2 and self._beyond(z, 2, 3) >= 2
        if rule in ("we3", "nelson6"):
            return abs(z) > 1 and self._beyond(z, 1, 5) >= 4
        if rule == "we4":
            return runs.same_side >= 8
        if rule == "nelson2":
            return runs.same_side >= 9
        if rule == "nelson3":
            return runs.monotonic >= 6
        if rule == "nelson4":
            return runs.alternating >= 14
        if rule == "nelson7":
            return runs.within_one >= 15
        if rule == "nelson8":
            return runs.beyond_one >= 8
        raise ValueError(f"unknown SPC rule '{rule}'")


def replay(points: Iterable[tuple[float, float]]) -> RuleState:
    """The state after ``points`` (``(z, value)``, oldest first); the last :data:`MEMORY` are
    enough."""
    state = RuleState()
    for z, value in points:
        state.add(z, value)
    return state
