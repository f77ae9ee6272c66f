"""The simulator's commands by hand: a walking tag set by hand moves on from there, a pinned one
stays where it was put (a press pressure that stays high, for an event rule) until unpinned."""

from __future__ import annotations

import asyncio

import pytest
from testdata import ACME

from adapters.sim import SimError, Simulator
from dsl.loader import load_or_raise


def test_a_pinned_pressure_stays_until_unpinned() -> None:
    simulator = Simulator(load_or_raise(ACME).devices.values(), seed=7)
    pressure = simulator.behaviours["press1.pressure"]
    asyncio.run(simulator.set("press1.pressure", 190.0, pin=True))
    assert [pressure.at(t) for t in (1.0, 2.0, 3.0)] == [190.0, 190.0, 190.0]
    assert not pressure.moves
    simulator.unpin("press1.pressure")
    assert pressure.moves
    assert pressure.at(4.0) != 190.0  # the walk reflects it back into its range
    with pytest.raises(SimError) as unknown:
        simulator.unpin("press1.presure")
    assert str(unknown.value).startswith("no simulated tag 'press1.presure'; known: ")
