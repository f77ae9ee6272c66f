"""The shared tag cache: one memory-mapped file per site, written by the adapter process only.

Layout (little-endian)::

    header   64 bytes   magic, layout id, slot count, directory and slot offsets, retired flag
    directory           JSON list of slot keys, in slot order
    slots    128 bytes each, one per key

A slot is guarded by a seqlock: the writer makes its sequence number odd, writes the body, then
makes it even again; a reader copies the body between two reads of the sequence number and retries
when they differ or are odd. Readers never block the writer and never see a half-written slot.
When the adapter process starts with a different layout (a new plant version), it writes a new
file, renames it over the old one and marks the old one *retired*; readers notice and reopen.

A slot stores the value in the tag's own engineering unit (not SI), its quality, the device's source
timestamp, the receive time (when the adapter last received or confirmed the value) and the tag's
``max_age``. Readers turn *good* into *stale* when the receive time is older than ``max_age``, so a
hung or dead adapter process makes values stale on its own.
"""

from __future__ import annotations

import enum
import json
import mmap
import os
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"FERRTAG1"
_HEADER = struct.Struct("<8sIIIIB")  # magic, slots, dir offset, dir length, slot offset, retired
_HEADER_SIZE = 64
_RETIRED_AT = struct.calcsize("<8sIIII")
# Sequence words are read and written as single aligned 8-byte items of a memoryview: never
# with struct.pack_into, which zero-fills its target before writing, so that a reader could see
# a passing even 0 in the middle of a write and accept a torn slot.
_WORD = 8
_BODY = struct.Struct(
    "<BBHxxxxdddd64s"
)  # quality, kind, text length, value, source, receive, max_age, text
SLOT_SIZE = 128
TEXT_BYTES = 64
_MAX_RETRIES = 10_000


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
    """One slot as a reader sees it. ``value`` is None when bad; ``reason`` says why."""

    value: Value | None
    quality: Quality
    source_time: float
    receive_time: float
    max_age: float
    reason: str

    def age(self, now: float) -> float:
        """Seconds since the device's source timestamp."""
        return now - self.source_time


class CacheLayoutError(RuntimeError):
    """The cache file is missing, foreign, or does not hold a requested key."""


def _truncate(text: str) -> bytes:
    raw = text.encode("utf-8")[:TEXT_BYTES]
    return raw.decode("utf-8", "ignore").encode("utf-8")


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
        for i, max_age in enumerate(max_ages):
            _BODY.pack_into(
                self._map, slots_at + i * SLOT_SIZE + 8, 0, _NONE, 0, 0, 0, 0, max_age, b""
            )
        header = (MAGIC, len(self.keys), _HEADER_SIZE, len(directory), slots_at, 0)
        _HEADER.pack_into(self._map, 0, *header)
        self._slots_at = slots_at
        self._max_ages = tuple(max_ages)
        self.updates = 0
        _replace_and_retire(temporary, path)

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
        at = self._slots_at + i * SLOT_SIZE
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
        seq = self._words[at // _WORD]
        self._words[at // _WORD] = seq + 1
        _BODY.pack_into(
            self._map,
            at + 8,
            quality,
            kind,
            len(text),
            number,
            source,
            receive,
            self._max_ages[i],
            text,
        )
        self._words[at // _WORD] = seq + 2

    def publish(self, key: str, value: Value, source_time: float, receive_time: float) -> None:
        """A good value received from the device."""
        self.updates += 1
        self._write(
            self.index[key], _GOOD, value, source=source_time, receive=receive_time, reason=""
        )

    def mark_bad(self, key: str, reason: str, at: float) -> None:
        """The value is not available; ``reason`` (≤ 64 bytes kept) says why."""
        self._write(self.index[key], _BAD, None, source=at, receive=at, reason=reason)

    def confirm(self, key: str, receive_time: float) -> None:
        """The device is known to be healthy, so the last good value is still current."""
        i = self.index[key]
        at = self._slots_at + i * SLOT_SIZE
        body = _BODY.unpack_from(self._map, at + 8)
        if body[0] != _GOOD:
            return
        seq = self._words[at // _WORD]
        self._words[at // _WORD] = seq + 1
        _BODY.pack_into(self._map, at + 8, *body[:5], receive_time, *body[6:])
        self._words[at // _WORD] = seq + 2

    def close(self) -> None:
        """Unmap (the file stays for readers; they see values go stale)."""
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
                if old[:8] == MAGIC:
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
        return self._read_at(at, time.time() if now is None else now)

    def read_many(self, keys: Iterable[str], now: float | None = None) -> dict[str, TagValue]:
        """Several slots at once, with one clock reading."""
        moment = time.time() if now is None else now
        return {key: self.read(key, moment) for key in keys}

    def _read_at(self, at: int, now: float) -> TagValue:
        mapped, words, seq_at = self._map, self._words, at // _WORD
        for attempt in range(_MAX_RETRIES):
            before = words[seq_at]
            body = _BODY.unpack_from(mapped, at + 8)
            after = words[seq_at]
            if before == after and not before & 1:
                return _decode(body, now)
            if attempt % 64 == 63:  # out of step with a busy writer: let it finish
                time.sleep(0.0001)
        raise CacheLayoutError(f"slot at {at} in {self.path} kept changing while being read")

    def close(self) -> None:
        """Unmap the file."""
        self._words.release()
        self._map.close()


def _decode(body: tuple[int, int, int, float, float, float, float, bytes], now: float) -> TagValue:
    quality, kind, length, number, source, receive, max_age, raw = body
    text = raw[:length].decode("utf-8", "ignore")
    if quality != _GOOD:
        reason = text if quality == _BAD else "no value received yet"
        return TagValue(None, Quality.BAD, source, receive, max_age, reason)
    value: Value = number if kind == _NUMBER else bool(number) if kind == _BOOL else text
    if now - receive > max_age:
        return TagValue(
            value, Quality.STALE, source, receive, max_age, f"no update for {now - receive:.1f} s"
        )
    return TagValue(value, Quality.GOOD, source, receive, max_age, "")
