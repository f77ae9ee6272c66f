"""Simulated devices: real OPC UA and Modbus servers on 127.0.0.1 whose values follow each tag's
``sim`` behaviour (constant, random walk, counter, cycle).

Used by ``ferrule sim PLANT_DIR`` for demos and by tests and benchmarks, which run it in a child
process so that they can kill it (device gone) or stop it (device hung). Faults can also be
triggered on a running simulator: :meth:`Simulator.fault` takes a device off the network and
:meth:`Simulator.restore` brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlparse

from adapters.cache import Value
from adapters.protocols import SIM_SERVERS, SimServer
from dsl.model import Device, ModbusConnection, SimBehaviour, Tag, ValueType

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
WALK_STEP = 0.05
"""A random walk moves by up to this fraction of its range per tick."""


class SimError(ValueError):
    """A device cannot be simulated as declared."""


_DEFAULTS: dict[ValueType, Value] = {
    ValueType.NUMBER: 0.0,
    ValueType.BOOL: False,
    ValueType.STRING: "",
}


def _default(tag: Tag) -> Value:
    return _DEFAULTS[tag.value_type]


def _typed(tag: Tag, value: float | bool | str | None) -> Value:
    if value is None:
        return _default(tag)
    if tag.value_type is ValueType.BOOL:
        return bool(value)
    if tag.value_type is ValueType.STRING:
        return str(value)
    return float(value)


class Behaviour:
    """The value of one simulated tag over time."""

    def __init__(self, tag: Tag, rng: random.Random, start: float) -> None:
        self.tag = tag
        self.sim = tag.sim or SimBehaviour("constant")
        self.rng = rng
        self.start = start
        first = (
            self.sim.values[0] if self.sim.kind == "cycle" and self.sim.values else self.sim.value
        )
        if first is None and self.sim.kind == "walk" and self.sim.low is not None:
            first = (self.sim.low + (self.sim.high or self.sim.low)) / 2
        self.value: Value = _typed(tag, first)
        self.pinned = False
        """Held at its value by hand (``pin``) until unpinned: it does not move meanwhile."""

    @property
    def moves(self) -> bool:
        """Whether the value changes on its own (constants are set once, so writes stick)."""
        return self.sim.kind != "constant" and not self.pinned

    def at(self, now: float) -> Value:
        """The value at ``now`` (a walk takes one step per call)."""
        sim = self.sim
        if self.pinned:
            return self.value
        if sim.kind == "walk" and isinstance(self.value, float):
            low = sim.low if sim.low is not None else self.value - 1
            high = sim.high if sim.high is not None else self.value + 1
            step = (high - low) * WALK_STEP * self.rng.uniform(-1, 1)
            value = self.value + step
            self.value = low + abs(value - low) if value < low else high - abs(value - high)
        elif sim.kind == "counter":
            base = float(sim.value or 0)
            self.value = _typed(self.tag, base + (sim.rate_per_s or 0) * (now - self.start))
        elif sim.kind == "cycle" and sim.values:
            index = int((now - self.start) / (sim.period_s or 1.0)) % len(sim.values)
            self.value = _typed(self.tag, sim.values[index])
        return self.value


def check_local(device: Device) -> None:
    """The simulator only serves on 127.0.0.1: say so for a device declared elsewhere."""
    conn = device.connection
    host = conn.host if isinstance(conn, ModbusConnection) else urlparse(conn.endpoint).hostname
    if host not in LOCAL_HOSTS:
        raise SimError(
            f"device {device.name}: the simulator serves on 127.0.0.1 only, but the device is "
            f"declared at host {host!r}; simulate a copy of the plant that uses 127.0.0.1"
        )


class Simulator:
    """One server per device; every ``tick_s`` the moving values take their next step."""

    def __init__(
        self, devices: Iterable[Device], tick_s: float = 0.1, seed: int | None = None
    ) -> None:
        self.devices = {d.name: d for d in devices}
        for device in self.devices.values():
            check_local(device)
        self.tick_s = tick_s
        rng = random.Random(seed)  # noqa: S311 - simulated process values, not secrets
        start = time.time()
        self.behaviours = {
            tag.key: Behaviour(tag, rng, start)
            for d in self.devices.values()
            for tag in d.tags.values()
        }
        self.servers: dict[str, SimServer] = {}
        self.ticks = 0

    def _new_server(self, device: Device) -> SimServer:
        initial = {tag.key: self.behaviours[tag.key].value for tag in device.tags.values()}
        return SIM_SERVERS[device.protocol](device, initial)

    async def start(self) -> None:
        """Start every device's server."""
        for device in self.devices.values():
            await self.restore(device.name)

    async def tick(self, now: float) -> None:
        """Move every moving value one step, writing only the ones that changed."""
        self.ticks += 1
        for name, server in self.servers.items():
            for tag in self.devices[name].tags.values():
                behaviour = self.behaviours[tag.key]
                if behaviour.moves:
                    before = behaviour.value
                    after = behaviour.at(now)
                    if after != before:
                        await server.set(tag.key, after)

    async def run(self, stop: asyncio.Event) -> None:
        """Start, tick until ``stop`` is set, then stop every server."""
        await self.start()
        try:
            next_tick = time.monotonic()
            while not stop.is_set():
                await self.tick(time.time())
                next_tick = max(next_tick + self.tick_s, time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), next_tick - time.monotonic())
        finally:
            await self.stop()

    async def set(self, key: str, value: Value, *, pin: bool = False) -> None:
        """Give a tag a value by hand: it keeps moving from there if it moves, or stays there
        until :meth:`unpin` with ``pin`` (a pressure that stays high, for an event rule)."""
        device = key.partition(".")[0]
        behaviour = self._behaviour(key)
        typed = _typed(behaviour.tag, value)
        behaviour.value = typed
        behaviour.pinned = behaviour.pinned or pin
        if device in self.servers:
            await self.servers[device].set(key, typed)

    def unpin(self, key: str) -> None:
        """Let a pinned tag move on its own again."""
        self._behaviour(key).pinned = False

    def _behaviour(self, key: str) -> Behaviour:
        if key not in self.behaviours:
            raise SimError(f"no simulated tag {key!r}; known: {', '.join(sorted(self.behaviours))}")
        return self.behaviours[key]

    async def fault(self, device: str) -> None:
        """Take a device off the network (its clients see the connection drop)."""
        server = self.servers.pop(self._known(device), None)
        if server is not None:
            await server.stop()

    async def restore(self, device: str) -> None:
        """Bring a device back (a fresh server with the current values)."""
        name = self._known(device)
        if name not in self.servers:
            server = self._new_server(self.devices[name])
            await server.start()
            self.servers[name] = server

    def _known(self, device: str) -> str:
        if device not in self.devices:
            raise SimError(
                f"no simulated device {device!r}; known: {', '.join(sorted(self.devices))}"
            )
        return device

    async def stop(self) -> None:
        """Stop every server (each stop is bounded)."""
        for name in list(self.servers):
            await self.fault(name)


class Ready(Protocol):
    """Something to signal once the servers listen (a ``multiprocessing`` event)."""

    def set(self) -> None: ...


def serve(devices: Iterable[Device], tick_s: float = 0.1, ready: Ready | None = None) -> None:
    """Run a simulator until the process is terminated (the entry point for child processes).

    ``ready`` may be a ``multiprocessing`` event, set once every server listens.
    """

    async def main() -> None:
        simulator = Simulator(devices, tick_s)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await simulator.start()
        if ready is not None:
            ready.set()
        await simulator.run(stop)

    asyncio.run(main())
