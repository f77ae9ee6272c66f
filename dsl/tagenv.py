"""A tag's latest reading as rules see it: the one builder of a tag's rule-environment entries.

Both the engine (:mod:`engine.floor.environment`) and the adapter process
(:mod:`adapters.envsource`) put tags into rule environments through :func:`add_tag` (see
:mod:`dsl.env` for the keys). Fail safe: a tag's value and its ``.age`` are present only while the
reading is good *and* holds a usable value — of the tag's type and, for a number, finite. Anything
else (bad, stale, no value, NaN, ±Inf, a value of another type) leaves both out, so a rule reading
either answers *unknown* and an interlock that needs it blocks; ``.quality`` then says ``bad`` or
``stale``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from dsl.env import TAG, tag_age_key, tag_key, tag_quality_key
from dsl.model import Tag, ValueType
from dsl.units import to_si

Quality = Literal["good", "bad", "stale"]
RuleValue = float | bool | str


def rule_tags(rule_keys: Iterable[str]) -> set[str]:
    """The ``device.tag`` names behind environment keys of a tag value, ``.age`` or ``.quality``."""
    return {".".join(key[len(TAG) :].split(".", 2)[:2]) for key in rule_keys if key.startswith(TAG)}


def _usable_value(tag: Tag, value: object) -> RuleValue | None:
    """``value`` (in the tag's engineering unit) as rules read it, numbers in SI; None when it is
    no value of the tag's type or a number that is not finite (before or after conversion)."""
    if tag.value_type is ValueType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = to_si(float(value), tag.unit)
        return number if math.isfinite(number) else None
    if tag.value_type is ValueType.BOOL:
        return value if isinstance(value, bool) else None
    return value if isinstance(value, str) else None


def rule_reading(tag: Tag, value: object, quality: str) -> tuple[Quality, RuleValue | None]:
    """The quality rules see for a reading reported with ``quality``, and the value they read
    (None unless that quality is ``good``): a reported ``good`` without a usable value is ``bad``,
    and so is any quality other than ``good`` or ``stale``."""
    if quality == "good":
        usable = _usable_value(tag, value)
        return ("bad", None) if usable is None else ("good", usable)
    return ("stale" if quality == "stale" else "bad"), None


def add_tag(env: dict[str, Any], tag: Tag, value: object, quality: str, age: float | None) -> None:
    """Put ``tag``'s quality into ``env`` and, when :func:`rule_reading` finds the reading good,
    its value and ``age``: seconds since the device's source timestamp, None when unknown (no
    reading received), which leaves ``.age`` out."""
    seen, usable = rule_reading(tag, value, quality)
    env[tag_quality_key(tag.key)] = seen
    if usable is not None:
        env[tag_key(tag.key)] = usable
        if age is not None:
            env[tag_age_key(tag.key)] = age
