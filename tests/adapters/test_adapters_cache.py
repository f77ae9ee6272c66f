"""The shared tag cache: values, quality, staleness, reasons, layout changes, and torn-read
safety."""

from __future__ import annotations

import mmap
import multiprocessing
import struct
from pathlib import Path

import pytest

from adapters.cache import CacheLayoutError, Quality, TagCache, TagCacheWriter, TagValue


def test_values_of_each_type_read_back_good(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n", "a.b", "a.s"], [5.0, 5.0, 5.0])
    writer.publish("a.n", 72.5, 100.0, 101.0)
    writer.publish("a.b", True, 100.0, 101.0)
    writer.publish("a.s", "x" * 80, 100.0, 101.0)
    cache = TagCache.open(path)
    assert cache.keys == ("a.n", "a.b", "a.s")
    assert cache.read("a.n", now=102.0) == TagValue(72.5, Quality.GOOD, 100.0, 101.0, 5.0, "")
    assert cache.read("a.b", now=102.0).value is True
    assert cache.read("a.s", now=102.0).value == "x" * 64


def test_nothing_received_yet_reads_bad(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    TagCacheWriter(path, ["a.n"], [5.0])
    found = TagCache.open(path).read("a.n")
    assert (found.value, found.quality, found.reason) == (
        None,
        Quality.BAD,
        "a.n: no value received yet",
    )


def test_bad_values_carry_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n"], [5.0])
    writer.publish("a.n", 1.0, 100.0, 100.0)
    writer.mark_bad("a.n", "a: connection refused", 105.0)
    found = TagCache.open(path).read("a.n", now=105.5)
    assert (found.value, found.quality, found.reason) == (
        None,
        Quality.BAD,
        "a: connection refused",
    )


def test_values_not_confirmed_within_max_age_read_stale(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n"], [2.0])
    writer.publish("a.n", 1.0, 100.0, 100.0)
    cache = TagCache.open(path)
    assert cache.read("a.n", now=101.9).quality is Quality.GOOD
    stale = cache.read("a.n", now=102.5)
    assert (stale.value, stale.quality, stale.reason) == (
        1.0,
        Quality.STALE,
        "a.n: no update for 2.5 s",
    )
    writer.confirm("a.n", 102.4)
    assert cache.read("a.n", now=102.5).quality is Quality.GOOD
    assert cache.read("a.n", now=102.5).source_time == 100.0


def test_confirm_does_not_revive_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n"], [2.0])
    writer.mark_bad("a.n", "down", 100.0)
    writer.confirm("a.n", 101.0)
    assert TagCache.open(path).read("a.n", now=101.0).quality is Quality.BAD


def test_the_reason_a_value_is_unavailable_says_what_happened_and_since_when(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n", "a.m", "a.s"], [2.0, 2.0, 2.0])
    writer.mark_bad("a.n", "a: connection refused", 100.0)
    writer.publish("a.s", 1.0, 100.0, 100.0)
    cache = TagCache.open(path)
    assert cache.unavailable_reason("a.n", now=112.0) == "a: connection refused (since 12 s ago)"
    assert cache.unavailable_reason("a.n", now=400.0) == "a: connection refused (since 5 min ago)"
    assert cache.unavailable_reason("a.m", now=112.0) == "a.m: no value received yet"
    assert cache.unavailable_reason("a.s", now=101.0) is None
    assert cache.unavailable_reason("a.s", now=102.5) == "a.s: no update for 2.5 s"
    assert cache.unavailable_reason("a.x", now=112.0) == (
        "the tag cache has no slot 'a.x' (is the adapter running this plant version?)"
    )


def test_unavailable_values_of_a_silent_adapter_process_say_it_is_not_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n", "a.s"], [60.0, 60.0])
    writer.beat(100.0)
    writer.mark_bad("a.n", "a: connection refused", 100.0)
    writer.publish("a.s", 1.0, 100.0, 100.0)
    cache = TagCache.open(path)
    assert cache.last_heartbeat() == 100.0
    assert cache.unavailable_reason("a.n", now=102.0) == "a: connection refused (since 2 s ago)"
    assert cache.unavailable_reason("a.n", now=112.0) == (
        "the adapter process is not running (last heartbeat 12 s ago)"
    )
    assert cache.read("a.s", now=112.0).quality is Quality.GOOD  # good until its max_age
    assert cache.read("a.s", now=161.0).reason == (
        "the adapter process is not running (last heartbeat 61 s ago)"
    )
    writer.close()
    assert cache.last_heartbeat() is None
    assert cache.unavailable_reason("a.n", now=112.0) == "the adapter process is not running"


def test_a_missing_cache_says_how_to_start_the_adapter(tmp_path: Path) -> None:
    with pytest.raises(CacheLayoutError) as caught:
        TagCache.open(tmp_path / "nope.mmap")
    assert str(caught.value) == (
        f"no tag cache at {tmp_path / 'nope.mmap'}: start the adapter process "
        "(ferrule adapters PLANT_DIR) for this site"
    )


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    TagCacheWriter(path, ["a.n"], [5.0])
    with pytest.raises(CacheLayoutError) as caught:
        TagCache.open(path).read("a.m")
    assert "no slot 'a.m'" in str(caught.value)


def test_readers_follow_a_new_layout(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    first = TagCacheWriter(path, ["a.n"], [5.0])
    first.publish("a.n", 1.0, 100.0, 100.0)
    cache = TagCache.open(path)
    assert cache.read("a.n", now=100.0).value == 1.0
    second = TagCacheWriter(path, ["a.m", "a.n"], [5.0, 5.0])
    second.publish("a.n", 2.0, 100.0, 100.0)
    assert cache.read("a.n", now=100.0).value == 2.0
    assert cache.keys == ("a.m", "a.n")


def test_a_slot_that_fails_its_checksum_is_never_read_as_its_torn_value(tmp_path: Path) -> None:
    """What a reader on a weakly ordered CPU can meet: an even, steady sequence number over a body
    whose new bytes are not all visible yet. The checksum turns it away; the next write heals."""
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n"], [5.0])
    writer.publish("a.n", 72.5, 100.0, 100.0)
    with path.open("r+b") as handle, mmap.mmap(handle.fileno(), 0) as mapped:
        value_at = mapped.find(struct.pack("<d", 72.5))
        assert value_at > 0
        mapped[value_at : value_at + 8] = struct.pack("<d", 99.0)
    cache = TagCache.open(path)
    torn = cache.read("a.n", now=100.5)
    assert (torn.value, torn.quality, torn.reason) == (
        None,
        Quality.BAD,
        "a.n: its tag cache slot is damaged (checksum mismatch)",
    )
    writer.publish("a.n", 73.0, 101.0, 101.0)
    assert cache.read("a.n", now=101.5).value == 73.0


def _hammer(path: str, count: int, started: object) -> None:
    writer = TagCacheWriter(Path(path), ["a.n"], [1e9])
    writer.publish("a.n", -1.0, -1.0, -1.0)
    started.set()  # type: ignore[attr-defined]
    for i in range(count):
        writer.publish("a.n", float(i), float(i), float(i))
        for _ in range(30):  # ~10^5 writes/s to one slot: far above any plant, yet readable
            pass


def test_a_reader_never_sees_a_half_written_slot(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    child = context.Process(target=_hammer, args=(str(path), 300_000, started))
    child.start()
    try:
        assert started.wait(30)
        cache = TagCache.open(path)
        seen = set()
        while child.is_alive() and len(seen) < 20_000:
            found = cache.read("a.n", now=0.0)
            assert found.value == found.source_time == found.receive_time
            seen.add(found.value)
        assert len(seen) > 10, "the writer never overlapped with the reader"
    finally:
        child.join(30)
