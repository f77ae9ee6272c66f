"""The episode state machine of one event rule (``event_rules`` of site.yaml): pure, clocked by
the caller, no I/O. See docs/event-rules.md for the semantics people rely on.

A rule is *armed*, *pending* (``when`` known true, its ``for`` timer running) or *fired* (the
episode fired, or was suppressed by ``at_most``, and waits to re-arm):

- armed: ``when`` passes → pending (with ``for: 0 s`` it fires at once);
- pending: ``when`` passes → the timer counts the time since the previous evaluation, when that
  one passed too; once it reaches ``for`` the episode fires (or is suppressed) → fired.
  ``when`` fails → armed (the episode ended before it fired);
- fired: re-arms → armed, when ``rearm`` passes (with no ``rearm``: when ``when`` fails).

Unknown never acts: an evaluation that cannot be decided (a tag bad or stale, the adapter
process down) leaves the phase as it is, and the ``for`` timer does not count the unknown time
(the interval up to the next evaluation that passes is not counted either: the timer starts
again from there, keeping what it had counted). So an unknown reading never fires a rule, never
ends an episode, and never re-arms one.

``at_most: N per T``: an episode that would fire when N firings happened in the last T seconds
is *suppressed* instead: it counts as the episode's one firing (it re-arms like a fired one) and
is recorded as suppressed, without running the actions; suppressions do not use up the rate.
"""

from __future__ import annotations

import enum
from collections import deque

from dsl.model import EventRule
from dsl.rules import Env, Outcome


class Phase(enum.Enum):
    ARMED = "armed"
    PENDING = "pending"
    FIRED = "fired"


class Verdict(enum.Enum):
    """What one evaluation decided: nothing, fire the actions, or record a suppression."""

    NONE = "none"
    FIRE = "fire"
    SUPPRESS = "suppress"


class EpisodeMachine:
    """One rule's episode state; :meth:`step` evaluates it at ``now`` (seconds on any steady
    clock) and says whether the rule fires."""

    def __init__(self, rule: EventRule, *, fired: bool = False) -> None:
        self.rule = rule
        self.phase = Phase.FIRED if fired else Phase.ARMED
        self.true_for_s = 0.0
        self._passed_at: float | None = None
        self._firings: deque[float] = deque()

    def step(self, env: Env, now: float) -> Verdict:
        """Evaluate the rule on ``env`` at ``now``."""
        if self.phase is Phase.FIRED:
            self._rearm(env)
            if self.phase is Phase.FIRED:
                return Verdict.NONE
        outcome = self.rule.when.evaluate(env)
        if outcome is Outcome.UNKNOWN:
            self._passed_at = None
            return Verdict.NONE
        if outcome is Outcome.FAIL:
            self._arm()
            return Verdict.NONE
        if self.phase is Phase.ARMED:
            self.phase, self.true_for_s = Phase.PENDING, 0.0
        elif self._passed_at is not None:
            self.true_for_s += max(0.0, now - self._passed_at)
        self._passed_at = now
        if self.true_for_s < self.rule.for_s:
            return Verdict.NONE
        self.phase, self._passed_at = Phase.FIRED, None
        return self._rated(now)

    def _rearm(self, env: Env) -> None:
        if self.rule.rearm is not None:
            if self.rule.rearm.evaluate(env) is Outcome.PASS:
                self._arm()
        elif self.rule.when.evaluate(env) is Outcome.FAIL:
            self._arm()

    def _arm(self) -> None:
        self.phase, self.true_for_s, self._passed_at = Phase.ARMED, 0.0, None

    def _rated(self, now: float) -> Verdict:
        limit = self.rule.at_most
        if limit is None:
            return Verdict.FIRE
        while self._firings and self._firings[0] <= now - limit.per_s:
            self._firings.popleft()
        if len(self._firings) >= limit.count:
            return Verdict.SUPPRESS
        self._firings.append(now)
        return Verdict.FIRE
