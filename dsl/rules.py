"""Compiled rules: the runtime face of an expression written in the plant language.

Every condition in a plant (an interlock, a gate, an equipment state rule, a setpoint value) is
compiled once at load time into a :class:`CompiledRule`. Evaluating it takes one *environment*:
a plain ``dict`` from environment keys to values. The engine builds that dict; see
:mod:`dsl.env` for the keys and for how values are converted.

Three-valued semantics: a key that is missing from the environment is *unavailable* (a bad or
stale tag, a field not entered). Evaluation runs left to right with short-circuit ``and``/``or``;
as soon as an unavailable value is needed, the result is :attr:`Outcome.UNKNOWN`. An arithmetic
error (division by zero) is unknown too. Unknown blocks: callers treat it like a failure, with its
own reason.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dsl.diagnostics import Span

Env = Mapping[str, Any]


class Outcome(enum.Enum):
    """The result of a condition: pass, fail, or unknown (cannot be decided; blocks)."""

    PASS = "pass"  # noqa: S105 (not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Reading:
    """A name a rule read, as the operator should see it: surface name and formatted value."""

    name: str
    display: str
    available: bool


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One sub-check (a top-level ``and`` operand) of a rule with what it saw."""

    text: str
    outcome: Outcome
    readings: tuple[Reading, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """A rule's outcome, broken into its sub-checks."""

    outcome: Outcome
    checks: tuple[CheckResult, ...]

    def failing(self) -> tuple[CheckResult, ...]:
        """The sub-checks that did not pass."""
        return tuple(c for c in self.checks if c.outcome is not Outcome.PASS)


@dataclass(frozen=True, slots=True)
class Reference:
    """An environment key a rule reads, with the surface name and display unit for explanations."""

    key: str
    name: str
    unit: str | None


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """A condition compiled to a Python function from a whitelist of syntax nodes.

    ``evaluate`` is the generated function itself (no wrapper), so calling it costs the same as a
    hand-written lambda. ``value`` returns the expression's value (for setpoints) and raises
    :class:`Unavailable` when it needs a missing key.
    """

    source: str
    span: Span
    references: tuple[Reference, ...]
    evaluate: Callable[[Env], Outcome]
    value: Callable[[Env], Any]
    explainer: Callable[[Env], Explanation]

    @property
    def keys(self) -> frozenset[str]:
        """Every environment key the rule may read."""
        return frozenset(r.key for r in self.references)

    def explain(self, env: Env) -> Explanation:
        """Evaluate each sub-check and report what it saw."""
        return self.explainer(env)


class Unavailable(Exception):
    """A value a rule needs is not in the environment (bad or stale tag, missing field)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"value '{key}' is unavailable")
