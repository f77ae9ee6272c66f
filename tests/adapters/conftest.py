"""Fixtures for the adapter tests (helpers live in adapter_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from adapter_helpers import SimProcess

from dsl.model import Device


@pytest.fixture
def sim_factory() -> Iterator[Callable[[list[Device]], SimProcess]]:
    started: list[SimProcess] = []

    def start(devices: list[Device]) -> SimProcess:
        sim = SimProcess(devices)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
