"""Where the engine gets live tag values from, and how it writes setpoints.

The engine never talks to a device. It reads the latest value of each tag through a
:class:`TagSource` and writes setpoints through a :class:`SetpointWriter`; the adapters layer
provides the real implementations (and the web layer wires them in). Both are structural
protocols, so an implementation does not import anything from ``engine``: the readings it returns
only need the five attributes of :class:`TagValue`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from engine.records.base import utcnow

Quality = Literal["good", "bad", "stale"]
Scalar = float | bool | str


class TagValue(Protocol):
    """What a reading must offer: the value in the tag's engineering unit, its quality, the
    device's source timestamp (None if the device gives none), when Ferrule received it, and
    ``reason``: why the value cannot be used, naming the device or tag and since when ("press1:
    connection refused (since 12 s ago)", "the adapter process is not running"), "" while the
    source has nothing against it. The engine works out itself the reasons it alone decides on (a
    value older than its tag's ``max_age``, NaN): see
    :func:`engine.floor.environment.unavailable_reason`."""

    @property
    def value(self) -> Scalar | None: ...

    @property
    def quality(self) -> str: ...

    @property
    def source_time(self) -> dt.datetime | None: ...

    @property
    def receive_time(self) -> dt.datetime: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TagReading:
    """The engine's own reading type (used by :class:`StaticTagSource`, ``ferrule test``, tests
    and the web layer's cache source)."""

    value: Scalar | None
    quality: Quality
    source_time: dt.datetime | None
    receive_time: dt.datetime
    reason: str = ""


class TagSource(Protocol):
    """Latest values of tags by ``device.tag`` key; a tag it knows nothing of is left out."""

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]: ...


class SetpointWriter(Protocol):
    """Writes a value (in the tag's engineering unit) and confirms it by reading it back.

    Returns None when the read-back is within ``tolerance`` of ``value``, otherwise a sentence
    for the operator saying what went wrong (e.g. "press1.target_force read back 1100 N").
    """

    def write(self, key: str, value: Scalar, tolerance: float) -> str | None: ...


class StaticTagSource:
    """A tag source holding fixed values, for ``ferrule test`` and tests.

    Values are stamped good and fresh at the moment they are read (by ``clock``, default the real
    time) unless set with :meth:`set_reading` (or :meth:`set_bad`); :meth:`set` changes one value
    at run time.
    """

    def __init__(
        self,
        values: Mapping[str, Scalar] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._values: dict[str, Scalar] = dict(values or {})
        self._readings: dict[str, TagReading] = {}
        self._bad: dict[str, str] = {}
        self._clock = clock

    def set(self, key: str, value: Scalar) -> None:
        """Give ``key`` a good, fresh value."""
        self._forget(key)
        self._values[key] = value

    def set_reading(self, key: str, reading: TagReading) -> None:
        """Give ``key`` an exact reading (bad quality, an old timestamp, a reason, ...)."""
        self._forget(key)
        self._readings[key] = reading

    def set_bad(self, key: str, reason: str) -> None:
        """Make ``key`` bad, received at the moment it is read, for ``reason`` (e.g. "press1:
        connection refused (since 12 s ago)")."""
        self._forget(key)
        self._bad[key] = reason

    def _forget(self, key: str) -> None:
        self._values.pop(key, None)
        self._readings.pop(key, None)
        self._bad.pop(key, None)

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]:
        now = self._clock()
        result: dict[str, TagValue] = {}
        for key in keys:
            if key in self._readings:
                result[key] = self._readings[key]
            elif key in self._values:
                result[key] = TagReading(self._values[key], "good", now, now)
            elif key in self._bad:
                result[key] = TagReading(None, "bad", None, now, self._bad[key])
        return result


class RecordingSetpointWriter:
    """A setpoint writer that accepts every write and remembers it (tests, ``ferrule test``)."""

    def __init__(self) -> None:
        self.written: list[tuple[str, Scalar]] = []

    def write(self, key: str, value: Scalar, tolerance: float) -> str | None:
        self.written.append((key, value))
        return None
