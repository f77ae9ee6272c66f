"""Where an item goes after an operation: a pure decision from the failed gates.

No gate failed: the next operation, or *completed* after the last one. Otherwise the most severe
failure wins — scrap, then nonconformance, then hold, then rework (the first failing gate of the
winning kind gives the reason). A rework whose target has already been reached ``max`` times
becomes a nonconformance.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dsl.model import FailAction, Gate, Operation, Routing


class Route(enum.Enum):
    """The outcome of completing an operation."""

    NEXT = "next"
    COMPLETED = "completed"
    HOLD = "hold"
    NONCONFORMANCE = "nonconformance"
    REWORK = "rework"
    SCRAP = "scrap"


_SEVERITY = {
    FailAction.SCRAP: 4,
    FailAction.NONCONFORMANCE: 3,
    FailAction.HOLD: 2,
    FailAction.REWORK: 1,
}


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """``operation``: where the item waits next — the next operation (for next, and for hold and
    nonconformance: where it continues once released or used as is), the rework target, or None
    when it is completed or scrapped (or has no operation left)."""

    route: Route
    operation: str | None
    gate: str | None = None
    reason: str = ""


def gate_reason(gate: Gate) -> str:
    """What a failed gate tells people."""
    return gate.because or f"gate '{gate.name}' failed: {gate.check.source}"


def decide(
    routing: Routing,
    operation: Operation,
    failed: Sequence[Gate],
    rework_counts: Mapping[str, int],
) -> RouteDecision:
    """Route an item that has just completed ``operation`` with the gates in ``failed``."""
    following = routing.next_operation(operation.id)
    onward = following.id if following else None
    if not failed:
        if onward is None:
            return RouteDecision(Route.COMPLETED, None)
        return RouteDecision(Route.NEXT, onward)
    gate = max(failed, key=lambda g: _SEVERITY[g.on_fail.action])
    action = gate.on_fail.action
    reason = gate_reason(gate)
    if action is FailAction.SCRAP:
        return RouteDecision(Route.SCRAP, None, gate.name, reason)
    if action is FailAction.HOLD:
        return RouteDecision(Route.HOLD, onward, gate.name, reason)
    if action is FailAction.REWORK:
        target = gate.on_fail.target or operation.id
        limit = gate.on_fail.max_loops
        done = rework_counts.get(target, 0)
        if limit is None or done < limit:
            return RouteDecision(Route.REWORK, target, gate.name, reason)
        reason = f"{reason}; already reworked at '{target}' {done} times (max {limit})"
    return RouteDecision(Route.NONCONFORMANCE, onward, gate.name, reason)
