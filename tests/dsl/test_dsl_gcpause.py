"""The collector pause around a plant load: off inside, restored after, shared by threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator

import pytest

from dsl._gcpause import collector_paused
from dsl.loader import LoadResult


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Each test starts with the collector on and leaves it as it found it."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    with collector_paused:
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_turn_it_back_on_only_at_the_outermost_exit() -> None:
    with collector_paused:
        with collector_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_still_turns_it_back_on() -> None:
    with pytest.raises(RuntimeError, match="boom"), collector_paused:
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused:
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_loads_in_threads_share_one_pause() -> None:
    first_inside, second_inside, first_may_leave = (threading.Event() for _ in range(3))
    seen_after_first_left: list[bool] = []

    def first() -> None:
        with collector_paused:
            first_inside.set()
            assert first_may_leave.wait(timeout=10)

    def second() -> None:
        assert first_inside.wait(timeout=10)
        with collector_paused:
            second_inside.set()
            first_thread.join(timeout=10)
            seen_after_first_left.append(gc.isenabled())

    first_thread = threading.Thread(target=first)
    second_thread = threading.Thread(target=second)
    first_thread.start()
    second_thread.start()
    assert second_inside.wait(timeout=10)
    first_may_leave.set()
    second_thread.join(timeout=10)
    assert not first_thread.is_alive() and not second_thread.is_alive()
    assert seen_after_first_left == [False]
    assert gc.isenabled()


def test_loading_a_plant_leaves_the_collector_on(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant()
    assert result.plant is not None
    assert gc.isenabled()


def test_a_plant_with_errors_leaves_the_collector_on(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant({"site.yaml": "site: [unclosed\n"})
    assert result.plant is None
    assert gc.isenabled()
