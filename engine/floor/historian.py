"""What the tag historian records, decided without I/O: which tags, when each is sampled, and
which samples are stored (deadband compression).

The compression is a plain deadband with a heartbeat (docs/historian.md): a sample is stored when
it is the tag's first, when its quality differs from the last stored one's, when it is good and
its value is more than the deadband away from the last stored value, or when the last stored
point is at least a heartbeat old or of another UTC day (so that every day opens with its value).
Everything else is dropped: between two stored points the
value stayed within the deadband of the first, which is what a trend draws (a step that holds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dsl.model import Plant
from engine.floor.tagsource import TagValue
from engine.records.historian import BAD, GOOD, QUALITY_CODES

MS = 1000
_SINCE = re.compile(r" \((since|last heartbeat) [^()]* ago\)$")
"""How long ago a reason began ("… (since 12 s ago)"): not stored, the point's time says it."""
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """How one tag is recorded: sampled every ``every_ms``, stored by ``deadband`` (in the tag's
    unit ``unit``) and at least every ``heartbeat_ms``."""

    key: str
    unit: str
    every_ms: int
    deadband: float
    heartbeat_ms: int


def history_specs(plant: Plant) -> tuple[HistorySpec, ...]:
    """Every tag of ``plant`` that declares ``history``, in key order."""
    return tuple(
        HistorySpec(
            tag.key,
            tag.unit or "",
            max(1, round(tag.history.every_s * MS)),
            tag.history.deadband,
            max(1, round(tag.history.heartbeat_s * MS)),
        )
        for tag in sorted(plant.all_tags(), key=lambda t: t.key)
        if tag.history is not None
    )


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one tag at ``at_ms`` (milliseconds since the epoch, UTC): ``value`` is None
    unless ``quality`` is good; ``reason`` says why it is not."""

    at_ms: int
    value: float | None
    quality: int
    reason: str | None = None


def sample_of(reading: TagValue | None, at_ms: int) -> Sample:
    """A reading as the historian stores it: numbers and booleans (as 0/1) when good; a missing
    reading, a value that is not a finite number, or a bad or stale one without its value."""
    if reading is None:
        return Sample(at_ms, None, BAD, "the tag source has no value for this tag")
    quality = QUALITY_CODES.get(reading.quality, BAD)
    if quality != GOOD:
        return Sample(at_ms, None, quality, _SINCE.sub("", reading.reason) or None)
    value = reading.value
    if isinstance(value, bool | int | float) and math.isfinite(float(value)):
        return Sample(at_ms, float(value), GOOD)
    return Sample(at_ms, None, BAD, f"not a number: {value!r}"[:200])


class Compressor:
    """The deadband compression of one tag, continuing from ``last`` (its last stored point,
    after a restart)."""

    __slots__ = ("deadband", "heartbeat_ms", "last")

    def __init__(self, deadband: float, heartbeat_ms: int, last: Sample | None = None) -> None:
        self.deadband = deadband
        self.heartbeat_ms = heartbeat_ms
        self.last = last

    def offer(self, sample: Sample) -> bool:
        """Whether ``sample`` is stored (it then becomes the last stored point). A sample not
        later than the last stored point (a clock step back) is dropped."""
        last = self.last
        if last is not None:
            if sample.at_ms <= last.at_ms:
                return False
            moved = (
                sample.quality != last.quality
                or sample.at_ms - last.at_ms >= self.heartbeat_ms
                or sample.at_ms // DAY_MS != last.at_ms // DAY_MS
                or (
                    sample.value is not None
                    and last.value is not None
                    and abs(sample.value - last.value) > self.deadband
                )
            )
            if not moved:
                return False
        self.last = sample
        return True


class Schedule:
    """When each tag is next sampled: every ``every_ms``, on multiples of it since the epoch,
    so that tags of the same period are sampled together."""

    def __init__(self, specs: Iterable[HistorySpec], now_ms: int) -> None:
        self._every = {spec.key: spec.every_ms for spec in specs}
        self._next = dict.fromkeys(self._every, now_ms)

    def due(self, now_ms: int) -> list[str]:
        """The tags to sample at ``now_ms``; each is then scheduled for its next multiple."""
        found = [key for key, at in self._next.items() if at <= now_ms]
        for key in found:
            every = self._every[key]
            self._next[key] = (now_ms // every + 1) * every
        return found

    def next_ms(self) -> int | None:
        """When the next tag is due (None without tags)."""
        return min(self._next.values(), default=None)


def compressors(specs: Iterable[HistorySpec], last: Mapping[str, Sample]) -> dict[str, Compressor]:
    """A compressor per tag, each continuing from its last stored point."""
    return {
        spec.key: Compressor(spec.deadband, spec.heartbeat_ms, last.get(spec.key)) for spec in specs
    }


@dataclass(frozen=True, slots=True)
class Bucket:
    """The downsampled values of one tag from ``at_ms`` for ``width_ms``: lowest, highest,
    time-weighted mean and last good value over the time a good value held in it, and how many
    stored points began in it."""

    at_ms: int
    width_ms: int
    low: float
    high: float
    mean: float
    last: float
    count: int


def downsample(points: Iterable[Sample], width_ms: int, hold_ms: int, end_ms: int) -> list[Bucket]:
    """The buckets of one tag's stored ``points`` (in time order, all before ``end_ms``).

    A good point's value holds until the next point, at most ``hold_ms`` (the historian stores
    at least one point per heartbeat, so a longer silence means it was not running), and never
    past ``end_ms``. Buckets are aligned to multiples of ``width_ms`` since the epoch; a bucket
    in which no good value held is left out (a gap)."""
    ordered = list(points)
    found: dict[
        int, list[float]
    ] = {}  # bucket start -> [low, high, weighted sum, covered, last, count]
    for index, point in enumerate(ordered):
        if point.value is None:
            continue
        following = ordered[index + 1].at_ms if index + 1 < len(ordered) else end_ms
        start, stop = point.at_ms, min(following, point.at_ms + hold_ms, end_ms)
        first = True
        while start < stop:
            bucket = start - start % width_ms
            until = min(stop, bucket + width_ms)
            acc = found.get(bucket)
            if acc is None:
                acc = found[bucket] = [point.value, point.value, 0.0, 0.0, point.value, 0.0]
            acc[0], acc[1] = min(acc[0], point.value), max(acc[1], point.value)
            acc[2] += point.value * (until - start)
            acc[3] += until - start
            acc[4] = point.value
            acc[5] += 1 if first else 0
            first, start = False, until
    return [
        Bucket(at, width_ms, acc[0], acc[1], acc[2] / acc[3], acc[4], int(acc[5]))
        for at, acc in found.items()
    ]
