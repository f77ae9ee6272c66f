"""Rule environments built from the tag cache (see :mod:`dsl.env` for the keys).

Each tag goes in through :func:`dsl.tagenv.add_tag`, the builder the engine uses too: its
``.quality`` is always present, its value (in SI) and ``.age`` only while the cache holds a good,
finite value, so a rule that needs a bad or stale tag answers *unknown*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.cache import TagCache
from dsl.model import Tag
from dsl.tagenv import add_tag


def tag_env(cache: TagCache, tags: Iterable[Tag], now: float) -> dict[str, Any]:
    """Environment entries for ``tags``: quality as text, value in SI and age in seconds."""
    env: dict[str, Any] = {}
    for tag in tags:
        found = cache.read(tag.key, now)
        add_tag(env, tag, found.value, found.quality.value, found.age(now))
    return env
