"""The shared tag cache: values, quality, staleness, layout changes, and torn-read safety."""

from __future__ import annotations

import multiprocessing
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
        "no value received yet",
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
    assert (stale.value, stale.quality, stale.reason) == (1.0, Quality.STALE, "no update for 2.5 s")
    writer.confirm("a.n", 102.4)
    assert cache.read("a.n", now=102.5).quality is Quality.GOOD
    assert cache.read("a.n", now=102.5).source_time == 100.0


def test_confirm_does_not_revive_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "tags.mmap"
    writer = TagCacheWriter(path, ["a.n"], [2.0])
    writer.mark_bad("a.n", "down", 100.0)
    writer.confirm("a.n", 101.0)
    assert TagCache.open(path).read("a.n", now=101.0).quality is Quality.BAD


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
