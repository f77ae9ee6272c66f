"""A rule's verdict as plain data for records and screens, and as one sentence for an operator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.rules import Explanation


def explanation_json(
    name: str, because: str, explanation: Explanation, *, implicit: bool = False
) -> dict[str, Any]:
    """A rule's verdict as plain data for records and screens."""
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
                    {"name": r.name, "display": r.display, "available": r.available}
                    for r in c.readings
                ],
            }
            for c in explanation.checks
        ],
    }


def what_was_seen(check: Mapping[str, Any]) -> str:
    """What a failed check saw, e.g. ``press1.pressure = 50 bar``."""
    shown: list[str] = []
    for sub in check["checks"]:
        if sub["outcome"] == "pass":
            continue
        for reading in sub["readings"]:
            text = (
                f"{reading['name']} = {reading['display']}"
                if reading["available"]
                else f"{reading['name']} is unavailable"
            )
            if text not in shown:
                shown.append(text)
    return ", ".join(shown)


def describe_failure(check: Mapping[str, Any]) -> str:
    seen = what_was_seen(check)
    text = str(check["because"] or check["name"])
    if check["outcome"] == "unknown":
        text += " (cannot be checked: " + (seen or "a value is unavailable") + ")"
    elif seen:
        text += f" ({seen})"
    return text
