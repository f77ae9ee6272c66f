"""Shared by the adapter benchmarks: a synthetic plant of walking tags, a simulator child
process and the adapter runtime on this process's event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.runtime import AdapterRuntime
from adapters.sim import serve
from dsl.diagnostics import Span
from dsl.model import (
    Device,
    ModbusAddress,
    ModbusConnection,
    OpcUaAddress,
    OpcUaConnection,
    Plant,
    RegisterKind,
    SimBehaviour,
    Site,
    Tag,
    ValueType,
)

SPAN = Span("bench", 1, 1, 1, 2)
WALK = SimBehaviour("walk", value=500.0, low=0.0, high=1000.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tag(device: str, name: str, address: OpcUaAddress | ModbusAddress) -> Tag:
    return Tag(device, name, address, ValueType.NUMBER, None, 5.0, False, "", WALK, SPAN)


def opcua_device(name: str, count: int, interval_ms: int) -> Device:
    connection = OpcUaConnection(
        f"opc.tcp://127.0.0.1:{free_port()}/bench", publishing_interval_ms=interval_ms
    )
    tags = {f"t{i}": _tag(name, f"t{i}", OpcUaAddress(f"ns=2;s={name}.t{i}")) for i in range(count)}
    return Device(name, connection, tags, "", SPAN)


def modbus_device(name: str, count: int, interval_ms: int) -> Device:
    connection = ModbusConnection("127.0.0.1", free_port(), 1, poll_interval_ms=interval_ms)
    tags = {
        f"t{i}": _tag(name, f"t{i}", ModbusAddress(RegisterKind.HOLDING, 2 * i, "float32"))
        for i in range(count)
    }
    return Device(name, connection, tags, "", SPAN)


def plant_of(devices: list[Device]) -> Plant:
    return Plant(
        Site("bench", "UTC", "", SPAN), {d.name: d for d in devices}, {}, {}, {}, {}, {}, {}, {}
    )


def start_simulator(devices: list[Device], tick_s: float) -> BaseProcess:
    """The simulator in a child process; returns once every server listens."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=serve, args=(devices, tick_s, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        process.kill()
        raise SystemExit("the simulator did not start within 60 s")
    return process


def stop_simulator(process: BaseProcess) -> None:
    process.terminate()
    process.join(10)
    if process.is_alive():
        process.kill()


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RuntimeInBackground:
    """The adapter runtime running in this process until :meth:`stop`."""

    def __init__(self, plant: Plant) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="ferrule-bench-"))
        self.cache_path = self.directory / "tags.mmap"
        self.runtime = AdapterRuntime(plant, Path("."), self.cache_path, lambda change: None)
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.runtime.run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)
