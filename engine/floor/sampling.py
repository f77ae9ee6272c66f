"""Whether a gate checks this item: every n-th, the first n of a work order, or a percentage.

``every n`` samples the 1st, (n+1)-th, (2n+1)-th ... item of a work order, so the first item is
always checked. ``percent p`` draws a number in [0, 100) from a hash of the item number and the
gate name: the same item meets the same draw at the same gate every time (rework included), and
the draw is recorded with the gate result so an auditor can recompute it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dsl.model import Sampling, SamplingRule


@dataclass(frozen=True, slots=True)
class SamplingDecision:
    """``sampled``: the gate is checked; ``draw``: the recorded draw for percentage sampling."""

    sampled: bool
    draw: float | None = None


def draw(item_number: str, gate_name: str) -> float:
    """A deterministic number in [0, 100) for this item at this gate."""
    digest = hashlib.sha256(f"{item_number}\x1f{gate_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def decide(
    rule: SamplingRule, *, ordinal: int, item_number: str, gate_name: str
) -> SamplingDecision:
    """Sample or skip. ``ordinal`` is the item's 1-based position in its work order."""
    if rule.kind is Sampling.EVERY:
        return SamplingDecision((ordinal - 1) % max(int(rule.n), 1) == 0)
    if rule.kind is Sampling.FIRST:
        return SamplingDecision(ordinal <= int(rule.n))
    value = draw(item_number, gate_name)
    return SamplingDecision(value < rule.n, round(value, 6))
