"""Reading scalar text as values: whole numbers, numbers, booleans, dates and quantities.

YAML's own type resolution is not used (see :mod:`dsl.yamlsource`): these functions are the one
place that decides what ``502``, ``true``, ``2027-06-30`` or ``0.5 m`` mean. Each returns None
when the text is not of its kind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

_INTEGER = re.compile(r"^[-+]?\d+$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FLOAT = re.compile(rf"^{_NUMBER}$")
_QUANTITY = re.compile(rf"^(?P<number>{_NUMBER})\s*(?P<unit>\S.*?)?\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number as written, with its unit text (None for a bare number)."""

    value: float
    unit: str | None


def parse_int(text: str) -> int | None:
    """``502`` → 502."""
    return int(text) if _INTEGER.match(text.strip()) else None


def parse_float(text: str) -> float | None:
    """``0.5`` → 0.5 (also whole numbers and exponents)."""
    stripped = text.strip()
    return float(stripped) if _FLOAT.match(stripped) else None


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` (any case) → bool."""
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered)


def parse_date(text: str) -> dt.date | None:
    """``2027-06-30`` → a date; None for anything else, including impossible dates."""
    stripped = text.strip()
    if not _DATE.match(stripped):
        return None
    try:
        return dt.date.fromisoformat(stripped)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def parse_quantity(text: str) -> Quantity | None:
    """``0.5 m`` → Quantity(0.5, "m"); ``2`` → Quantity(2.0, None). The unit is not checked.

    Cached: plants repeat the same limits and quantities many times, and both the validator and
    the model builder read each one.
    """
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    return Quantity(float(match["number"]), match["unit"] or None)
