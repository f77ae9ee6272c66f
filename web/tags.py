"""The engine's view of live tag values, read from the adapter process's shared cache.

This is where the two layers meet: :class:`CacheTagSource` satisfies the engine's ``TagSource``
protocol using ``adapters.cache.TagCache``, each reading with the cache's reason why it is
unavailable ("press1: connection refused (since 12 s ago)", "the adapter process is not running
(last heartbeat 12 s ago)"). Until the adapter process has written its cache, or for a key the
cache does not hold, a tag is bad with the reason the cache gives ("no tag cache at …: start the
adapter process …") — and rules that need it fail safe (unknown).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
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

    def _opened(self) -> TagCache | str:
        """The open cache, or why there is none."""
        with self._lock:
            if self._cache is None:
                try:
                    self._cache = TagCache.open(self.path)
                except CacheLayoutError as exc:
                    return str(exc)
            return self._cache

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]:
        cache = self._opened()
        now = time.time()
        if isinstance(cache, str):
            return {key: _unavailable(cache, now) for key in keys}
        result: dict[str, TagValue] = {}
        for key in keys:
            try:
                found = cache.read(key, now)
            except CacheLayoutError as exc:
                result[key] = _unavailable(str(exc), now)
                continue
            result[key] = TagReading(
                value=found.value,
                quality=found.quality.value,
                source_time=_instant(found.source_time) if found.source_time else None,
                receive_time=_instant(found.receive_time),
                reason=found.unavailable_reason(now) or "",
            )
        return result

    def tag_keys(self) -> tuple[str, ...]:
        """Every key the cache holds (empty before the adapter process has started)."""
        cache = self._opened()
        return () if isinstance(cache, str) else cache.keys


def _unavailable(reason: str, now: float) -> TagReading:
    """A bad reading without a value, received ``now``, for ``reason``."""
    return TagReading(None, "bad", None, _instant(now), reason)
