"""Rule environments built from the tag cache (see :mod:`dsl.env` for the keys).

A tag that is bad or stale is left out, so a rule that needs it answers *unknown*; its
``.quality`` key is always present and its ``.age`` whenever a value was ever received.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.cache import Quality, TagCache
from dsl.env import tag_age_key, tag_key, tag_quality_key
from dsl.model import Tag, ValueType
from dsl.units import to_si


def tag_env(cache: TagCache, tags: Iterable[Tag], now: float) -> dict[str, Any]:
    """Environment entries for ``tags``: values in SI, age in seconds, quality as text."""
    env: dict[str, Any] = {}
    for tag in tags:
        found = cache.read(tag.key, now)
        env[tag_quality_key(tag.key)] = found.quality.value
        if found.value is None:
            continue
        env[tag_age_key(tag.key)] = found.age(now)
        if found.quality is Quality.GOOD:
            number = tag.value_type is ValueType.NUMBER and not isinstance(found.value, str)
            env[tag_key(tag.key)] = to_si(float(found.value), tag.unit) if number else found.value
    return env
