"""The shared tag cache: one memory-mapped file per site, written by the adapter process only.

Layout (little-endian)::

    header   64 bytes   magic, slot count, directory and slot offsets, retired flag, heartbeat
    directory           JSON list of slot keys, in slot order
    slots    128 bytes each, one per key: sequence, body, checksum

A slot is guarded by a seqlock: the writer makes its sequence number odd, writes the body and a
CRC-32 of the body together with the final sequence number, then makes the sequence even again. A
reader copies the slot between two reads of the sequence number and accepts the copy only when
both reads agree, are even, and the checksum matches; otherwise it retries (a bounded number of
times). The sequence number alone is enough on x86; the checksum keeps a reader on a weakly
ordered CPU (ARM, POWER), where the body's stores may become visible out of order, from
accepting a torn slot. Readers never block the writer. When the adapter process starts with a
different layout (a new plant version), it writes a new file, renames it over the old one and
marks the old one *retired*; readers notice and reopen.

A slot stores the value in the tag's own engineering unit (not SI), its quality, the device's source
timestamp, the receive time (when the adapter last received or confirmed the value) and the tag's
``max_age``. Readers turn *good* into *stale* when the receive time is older than ``max_age``, so a
hung or dead adapter process makes values stale on its own. The adapter process also beats a
heartbeat in the header every second, so readers can tell "the adapter process is not running"
from a device failure when they say why a value is unavailable.
"""

from __future__ import annotations

import enum
import json
import mmap
import os
import struct
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"FERRTAG2"
_HEADER = struct.Struct("<8sIIIIB")  # magic, slots, dir offset, dir length, slot offset, retired
_HEADER_SIZE = 64
_RETIRED_AT = struct.calcsize("<8sIIII")
# Sequence words and the heartbeat are read and written as single aligned 8-byte items of a
# memoryview: never with struct.pack_into, which zero-fills its target before writing, so that a
# reader could see a passing even 0 in the middle of a write and accept a torn slot.
_WORD = 8
_HEARTBEAT_WORD = 4  # header bytes 32..39: microseconds since the epoch; 0 once the writer closed
_BODY = struct.Struct(
    "<BBHxxxxdddd64s"
)  # quality, kind, text length, value, source, receive, max_age, text
_CHECKED = struct.Struct("<Q" + _BODY.format[1:])  # what the checksum covers: sequence and body
_CHECKSUM = struct.Struct("<I")
_SLOT = struct.Struct(_CHECKED.format + "I")  # sequence, body, checksum
SLOT_SIZE = 128
TEXT_BYTES = 64
_MAX_ATTEMPTS = 10_000
_MAX_MISMATCHES = 64
"""Checksum failures with a steady, even sequence number before a slot counts as damaged: a
weakly ordered CPU shows a torn body only for the instant its stores take to become visible."""

HEARTBEAT_S = 1.0
"""How often the adapter process beats the heartbeat."""
HEARTBEAT_LIMIT_S = 3 * HEARTBEAT_S
"""A heartbeat older than this means the adapter process is not running (or is hung)."""


class Quality(enum.Enum):
    """A tag value's quality, as rules see it (``tag:<key>.quality``)."""

    GOOD = "good"
    BAD = "bad"
    STALE = "stale"


_GOOD, _BAD = 1, 2  # stored quality bytes; 0 = nothing received yet (reads as bad)
_NONE, _NUMBER, _BOOL, _TEXT = 0, 1, 2, 3

Value = float | bool | str


@dataclass(frozen=True, slots=True)
class TagValue:
    """One slot as a reader sees it. ``value`` is None when bad; ``reason`` says why, naming the
    device or tag (``press1: connection refused``); ``since`` is when the value became unavailable
    for that reason (None when good, or when ``reason`` itself says how long)."""

    value: Value | None
    quality: Quality
    source_time: float
    receive_time: float
    max_age: float
    reason: str
    since: float | None = None

    def age(self, now: float) -> float:
        """Seconds since the device's source timestamp."""
        return now - self.source_time

    def unavailable_reason(self, now: float) -> str | None:
        """``reason`` with since when (``press1: connection refused (since 12 s ago)``); None
        while the value is good."""
        if self.quality is Quality.GOOD:
            return None
        if self.since is None:
            return self.reason
        return f"{self.reason} (since {_duration(now - self.since)} ago)"


class CacheLayoutError(RuntimeError):
    """The cache file is missing, foreign, or does not hold a requested key."""


def _truncate(text: str) -> bytes:
    raw = text.encode("utf-8")[:TEXT_BYTES]
    return raw.decode("utf-8", "ignore").encode("utf-8")


def _duration(seconds: float) -> str:
    """``12 s``, ``5 min``, ``3 h``: how long ago, for people."""
    if seconds < 90:
        return f"{max(seconds, 0.0):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class TagCacheWriter:
    """The adapter process's side: creates the file and writes slots. One writer per file."""

    def __init__(self, path: Path, keys: Sequence[str], max_ages: Sequence[float]) -> None:
        self.path = path
        self.keys = tuple(keys)
        self.index = {key: i for i, key in enumerate(self.keys)}
        directory = json.dumps(list(self.keys)).encode()
        slots_at = -(-(_HEADER_SIZE + len(directory)) // SLOT_SIZE) * SLOT_SIZE
        size = slots_at + SLOT_SIZE * len(self.keys)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + f".{os.getpid()}.new")
        with temporary.open("wb") as handle:
            handle.truncate(max(size, _HEADER_SIZE))
        self._file = temporary.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 0)
        self._words = memoryview(self._map).cast("Q")
        self._map[_HEADER_SIZE : _HEADER_SIZE + len(directory)] = directory
        self._slots_at = slots_at
        self._max_ages = tuple(max_ages)
        for i, max_age in enumerate(max_ages):
            self._store(slots_at + i * SLOT_SIZE, (0, _NONE, 0, 0.0, 0.0, 0.0, max_age, b""))
        self.beat(time.time())
        header = (MAGIC, len(self.keys), _HEADER_SIZE, len(directory), slots_at, 0)
        _HEADER.pack_into(self._map, 0, *header)
        self.updates = 0
        _replace_and_retire(temporary, path)

    def _store(self, at: int, body: tuple[Any, ...]) -> None:
        """Write the slot at ``at`` under its seqlock, checksummed with its next sequence number."""
        seq_at = at // _WORD
        seq = self._words[seq_at]
        self._words[seq_at] = seq + 1
        checked = _CHECKED.pack(seq + 2, *body)
        self._map[at + _WORD : at + _SLOT.size] = checked[_WORD:] + _CHECKSUM.pack(
            zlib.crc32(checked)
        )
        self._words[seq_at] = seq + 2

    def _write(
        self,
        i: int,
        quality: int,
        value: Value | None,
        *,
        source: float,
        receive: float,
        reason: str,
    ) -> None:
        text = b""
        number = 0.0
        if value is None:
            kind, text = _NONE, _truncate(reason)
        elif isinstance(value, bool):
            kind, number = _BOOL, float(value)
        elif isinstance(value, str):
            kind, text = _TEXT, _truncate(value)
        else:
            kind, number = _NUMBER, float(value)
        body = (quality, kind, len(text), number, source, receive, self._max_ages[i], text)
        self._store(self._slots_at + i * SLOT_SIZE, body)

    def publish(self, key: str, value: Value, source_time: float, receive_time: float) -> None:
        """A good value received from the device."""
        self.updates += 1
        self._write(
            self.index[key], _GOOD, value, source=source_time, receive=receive_time, reason=""
        )

    def mark_bad(self, key: str, reason: str, at: float) -> None:
        """The value is not available since ``at``; ``reason`` (≤ 64 bytes kept) says why."""
        self._write(self.index[key], _BAD, None, source=at, receive=at, reason=reason)

    def confirm(self, key: str, receive_time: float) -> None:
        """The device is known to be healthy, so the last good value is still current."""
        at = self._slots_at + self.index[key] * SLOT_SIZE
        body = _BODY.unpack_from(self._map, at + _WORD)
        if body[0] == _GOOD:
            self._store(at, (*body[:5], receive_time, *body[6:]))

    def beat(self, now: float) -> None:
        """Show readers the adapter process is running (call every :data:`HEARTBEAT_S`)."""
        self._words[_HEARTBEAT_WORD] = round(now * 1e6)

    def close(self) -> None:
        """Stop the heartbeat and unmap (the file stays; readers see values go stale)."""
        self._words[_HEARTBEAT_WORD] = 0
        self._words.release()
        self._map.close()
        self._file.close()


def _replace_and_retire(new: Path, path: Path) -> None:
    """Rename ``new`` over ``path``, then mark the old file retired so its readers reopen."""
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        os.replace(new, path)
        return
    with handle:
        os.replace(new, path)
        try:
            with mmap.mmap(handle.fileno(), 0) as old:
                if old[: len(MAGIC)] == MAGIC:
                    old[_RETIRED_AT] = 1
        except ValueError:  # an empty file cannot be mapped
            return


class TagCache:
    """A reader's side, for any process (web workers, CLI). Cheap to read from, safe to share."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._load()

    @classmethod
    def open(cls, path: Path) -> TagCache:
        """Open the cache file the adapter process writes; CacheLayoutError if there is none."""
        return cls(path)

    def _load(self) -> None:
        try:
            with self.path.open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                self._words = memoryview(self._map).cast("Q")
        except (FileNotFoundError, ValueError) as exc:
            raise CacheLayoutError(
                f"no tag cache at {self.path}: start the adapter process "
                "(ferrule adapters PLANT_DIR) for this site"
            ) from exc
        magic, count, dir_at, dir_len, slots_at, _ = _HEADER.unpack_from(self._map, 0)
        if magic != MAGIC:
            raise CacheLayoutError(f"{self.path} is not a Ferrule tag cache")
        self.keys: tuple[str, ...] = tuple(json.loads(self._map[dir_at : dir_at + dir_len]))
        self._offsets = {key: slots_at + i * SLOT_SIZE for i, key in enumerate(self.keys)}
        if len(self.keys) != count:
            raise CacheLayoutError(f"{self.path} has a damaged directory")

    def _fresh(self) -> None:
        if self._map[_RETIRED_AT]:
            self._words.release()
            self._map.close()
            self._load()

    def read(self, key: str, now: float | None = None) -> TagValue:
        """The latest value of ``key`` (a tag ``device.tag`` or ``equipment:<name>``)."""
        self._fresh()
        at = self._offsets.get(key)
        if at is None:
            raise CacheLayoutError(
                f"the tag cache has no slot '{key}' (is the adapter running this plant version?)"
            )
        return self._read_at(key, at, time.time() if now is None else now)

    def read_many(self, keys: Iterable[str], now: float | None = None) -> dict[str, TagValue]:
        """Several slots at once, with one clock reading."""
        moment = time.time() if now is None else now
        return {key: self.read(key, moment) for key in keys}

    def unavailable_reason(self, key: str, now: float | None = None) -> str | None:
        """Why ``key`` has no usable value, for the operator (``press1: connection refused
        (since 12 s ago)``, ``the adapter process is not running (last heartbeat 8 s ago)``);
        None while its value is good. Never raises."""
        moment = time.time() if now is None else now
        try:
            return self.read(key, moment).unavailable_reason(moment)
        except CacheLayoutError as exc:
            return str(exc)

    def last_heartbeat(self) -> float | None:
        """When the adapter process last showed it runs (epoch seconds); None once it stopped."""
        self._fresh()
        micros = self._words[_HEARTBEAT_WORD]
        return micros / 1e6 if micros else None

    def _adapter_down(self, now: float) -> str | None:
        """Why nothing in the cache is current, when the adapter process's heartbeat says so."""
        beat = self.last_heartbeat()
        if beat is None:
            return "the adapter process is not running"
        if now - beat > HEARTBEAT_LIMIT_S:
            return (
                f"the adapter process is not running (last heartbeat {_duration(now - beat)} ago)"
            )
        return None

    def _read_at(self, key: str, at: int, now: float) -> TagValue:
        mapped, words, seq_at, end = self._map, self._words, at // _WORD, at + _SLOT.size
        mismatches = 0
        for attempt in range(_MAX_ATTEMPTS):
            before = words[seq_at]
            raw = mapped[at:end]
            after = words[seq_at]
            if before == after and not before & 1:
                slot = _SLOT.unpack(raw)
                if slot[0] == before and zlib.crc32(raw[: _CHECKED.size]) == slot[-1]:
                    return self._decode(key, slot, now)
                mismatches += 1
                if mismatches == _MAX_MISMATCHES:
                    return _unreadable(f"{key}: its tag cache slot is damaged (checksum mismatch)")
            if attempt % 64 == 63:  # out of step with a busy writer: let it finish
                time.sleep(0.0001)
        return _unreadable(f"{key}: its tag cache slot kept changing while being read")

    def _decode(self, key: str, slot: tuple[Any, ...], now: float) -> TagValue:
        _, quality, kind, length, number, source, receive, max_age, raw, _ = slot
        if quality == _GOOD:
            value: Value = number
            if kind == _BOOL:
                value = bool(number)
            elif kind == _TEXT:
                value = raw[:length].decode("utf-8", "ignore")
            if now - receive <= max_age:
                return TagValue(value, Quality.GOOD, source, receive, max_age, "")
            stale = self._adapter_down(now) or f"{key}: no update for {now - receive:.1f} s"
            return TagValue(value, Quality.STALE, source, receive, max_age, stale)
        down = self._adapter_down(now)
        if down is not None:
            return TagValue(None, Quality.BAD, source, receive, max_age, down)
        if quality == _BAD:
            reason = raw[:length].decode("utf-8", "ignore")
            return TagValue(None, Quality.BAD, source, receive, max_age, reason, since=source)
        return TagValue(
            None, Quality.BAD, source, receive, max_age, f"{key}: no value received yet"
        )

    def close(self) -> None:
        """Unmap the file."""
        self._words.release()
        self._map.close()


def _unreadable(reason: str) -> TagValue:
    return TagValue(None, Quality.BAD, 0.0, 0.0, 0.0, reason)
