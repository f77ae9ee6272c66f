"""The engine's view of live tag values, read from the adapter process's shared cache.

This is where the two layers meet: :class:`CacheTagSource` satisfies the engine's ``TagSource``
protocol using ``adapters.cache.TagCache``. Until the adapter process has written its cache, or for
a key the cache does not hold, a tag is simply absent — and rules that need it fail safe (unknown).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Collection, Mapping
from pathlib import Path

from adapters.cache import CacheLayoutError, TagCache
from engine.floor.tagsource import TagReading, TagValue


def _instant(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class CacheTagSource:
    """Reads tag values from the cache file at ``path``, (re)opening it when needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: TagCache | None = None
        self._lock = threading.Lock()

    def _opened(self) -> TagCache | None:
        with self._lock:
            if self._cache is None:
                try:
                    self._cache = TagCache.open(self.path)
                except CacheLayoutError:
                    return None
            return self._cache

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]:
        cache = self._opened()
        if cache is None:
            return {}
        result: dict[str, TagValue] = {}
        for key in keys:
            try:
                found = cache.read(key)
            except CacheLayoutError:
                continue
            result[key] = TagReading(
                value=found.value,
                quality=found.quality.value,
                source_time=_instant(found.source_time) if found.source_time else None,
                receive_time=_instant(found.receive_time),
            )
        return result

    def tag_keys(self) -> tuple[str, ...]:
        """Every key the cache holds (empty before the adapter process has started)."""
        cache = self._opened()
        return cache.keys if cache is not None else ()
