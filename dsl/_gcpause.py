"""Pausing Python's cyclic garbage collector while a plant loads.

A load builds hundreds of thousands of small objects (the located YAML trees, then the model)
that all stay alive until it ends, and every full collection walks all of them: that was about
half of the CPU time of loading a large plant. Those objects form no reference cycles, so
collecting later loses nothing. Loads running at the same time in several threads share one
pause; the last one to finish turns the collector back on (if it was on before the first).
"""

from __future__ import annotations

import gc
import threading


class _CollectorPause:
    """A reentrant, thread-safe ``with`` block during which the cyclic collector is off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


collector_paused = _CollectorPause()
