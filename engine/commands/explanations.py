"""A rule's verdict as plain data for records and screens, and as one sentence for an operator.

Each reading in the data carries a ``reason``: why the value is unavailable ("press1: connection
refused (since 12 s ago)"), or why a fact is what it is (``equipment.state`` is ``down`` because
"press1.fault is unavailable: …"); "" when there is nothing to say. Sentences name it after the
reading: "press1.pressure is unavailable: press1: connection refused (since 12 s ago)",
"equipment.state = down because press1.fault is unavailable: …".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl import env as keys
from dsl.rules import CompiledRule, Explanation
from dsl.tagenv import rule_tags
from engine.floor.environment import unavailable


def explanation_json(
    name: str,
    because: str,
    explanation: Explanation,
    *,
    implicit: bool = False,
    reasons: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A rule's verdict as plain data for records and screens; ``reasons`` gives the reason of a
    reading by its name (see :func:`reading_reasons`)."""
    reasons = reasons or {}
    return {
        "name": name,
        "because": because,
        "implicit": implicit,
        "outcome": explanation.outcome.value,
        "checks": [
            {
                "text": c.text,
                "outcome": c.outcome.value,
                "readings": [
                    {
                        "name": r.name,
                        "display": r.display,
                        "available": r.available,
                        "reason": reasons.get(r.name, ""),
                    }
                    for r in c.readings
                ],
            }
            for c in explanation.checks
        ],
    }


def reading_reasons(rule: CompiledRule, reasons: Mapping[str, str]) -> dict[str, str]:
    """``reasons`` keyed by the environment key of a value (``tag:press1.pressure``,
    ``equipment.state``) as ``rule``'s explanation names its readings; a tag's ``.age`` and
    ``.quality`` take the reason of its value."""
    named: dict[str, str] = {}
    for reference in rule.references:
        key = reference.key
        if key.startswith(keys.TAG):
            key = keys.tag_key(next(iter(rule_tags((key,)))))
        reason = reasons.get(key)
        if reason:
            named[reference.name] = reason
    return named


def rule_json(
    name: str,
    because: str,
    rule: CompiledRule,
    env: Mapping[str, Any],
    *,
    reasons: Mapping[str, str],
    implicit: bool = False,
) -> dict[str, Any]:
    """``rule`` explained on ``env`` as plain data (:func:`explanation_json`), each reading with
    its reason from ``reasons`` (by environment key, see :func:`reading_reasons`)."""
    return explanation_json(
        name,
        because,
        rule.explain(env),
        implicit=implicit,
        reasons=reading_reasons(rule, reasons),
    )


def _seen(reading: Mapping[str, Any]) -> str:
    reason = str(reading.get("reason", ""))  # checks recorded before reasons have none
    if not reading["available"]:
        return unavailable(reading["name"], reason)
    text = f"{reading['name']} = {reading['display']}"
    return f"{text} because {reason}" if reason else text


def _failing_readings(check: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for sub in check["checks"] if sub["outcome"] != "pass" for r in sub["readings"]]


def has_reasons(check: Mapping[str, Any]) -> bool:
    """Whether a value a failed check saw has a reason (it is unavailable, or, like
    ``equipment.state``, what it is because a value is unavailable)."""
    return any(r.get("reason") for r in _failing_readings(check))


def what_was_seen(check: Mapping[str, Any]) -> str:
    """What a failed check saw, e.g. ``press1.pressure = 50 bar``, ``press1.pressure is
    unavailable: press1: connection refused (since 12 s ago)``."""
    shown: list[str] = []
    for reading in _failing_readings(check):
        text = _seen(reading)
        if text not in shown:
            shown.append(text)
    return ", ".join(shown)


def describe_failure(check: Mapping[str, Any]) -> str:
    """A check that did not pass, for the operator: its reason and what it saw, "Press pressure
    is outside its 60–80 bar window (press1.pressure = 50 bar)", or why it cannot be checked,
    "… (cannot be checked: press1.pressure is unavailable: press1: connection refused (since 12 s
    ago))"."""
    seen = what_was_seen(check)
    text = str(check["because"] or check["name"])
    if check["outcome"] == "unknown":
        text += " (cannot be checked: " + (seen or "a value is unavailable") + ")"
    elif seen:
        text += f" ({seen})"
    return text
