"""Helpers for the adapter tests: hand-built plant models and real simulated devices."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapters.cache import Quality, TagCache, TagValue
from adapters.runtime import AdapterRuntime, Backoff
from adapters.sim import serve
from adapters.states import StateChange
from dsl.diagnostics import Span
from dsl.expressions import CONDITION, compile_expression
from dsl.model import (
    Device,
    Equipment,
    EquipmentState,
    ModbusAddress,
    ModbusConnection,
    OpcUaAddress,
    OpcUaConnection,
    Plant,
    Site,
    StateRule,
    Tag,
    ValueType,
)
from dsl.rules import CompiledRule
from dsl.scope import Scope, Symbol

SPAN = Span("site.yaml", 1, 1, 1, 2)
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_tag(device: str, name: str, address: OpcUaAddress | ModbusAddress, **kw: Any) -> Tag:
    """A tag with test defaults (number, no unit, 5 s max age, constant 0)."""
    fields: dict[str, Any] = {
        "value_type": ValueType.NUMBER,
        "unit": None,
        "max_age_s": 5.0,
        "writable": False,
        "description": "",
        "sim": None,
        "span": SPAN,
    }
    fields.update(kw)
    return Tag(device=device, name=name, address=address, **fields)


def opcua_device(
    name: str, port: int, tags: Mapping[str, dict[str, Any]], timeout_s: float = 1.0
) -> Device:
    """An OPC UA device on 127.0.0.1:port; ``tags`` maps name → make_tag keywords."""
    connection = OpcUaConnection(
        endpoint=f"opc.tcp://127.0.0.1:{port}/ferrule/{name}",
        publishing_interval_ms=100,
        timeout_s=timeout_s,
    )
    built = {
        tag: make_tag(name, tag, OpcUaAddress(f"ns=2;s={name}.{tag}"), **kw)
        for tag, kw in tags.items()
    }
    return Device(name, connection, built, "", SPAN)


def modbus_device(
    name: str,
    port: int,
    tags: Mapping[str, tuple[ModbusAddress, dict[str, Any]]],
    timeout_s: float = 1.0,
) -> Device:
    """A Modbus device on 127.0.0.1:port; ``tags`` maps name → (address, make_tag keywords)."""
    connection = ModbusConnection("127.0.0.1", port, 1, poll_interval_ms=100, timeout_s=timeout_s)
    built = {tag: make_tag(name, tag, address, **kw) for tag, (address, kw) in tags.items()}
    return Device(name, connection, built, "", SPAN)


def make_plant(devices: Sequence[Device], equipment: Sequence[Equipment] = ()) -> Plant:
    """A plant holding only devices and equipment."""
    return Plant(
        site=Site("test-site", "Europe/Berlin", "", SPAN),
        devices={d.name: d for d in devices},
        equipment={e.name: e for e in equipment},
        roles={},
        qualifications={},
        work_centers={},
        parts={},
        products={},
        routings={},
    )


def compile_rule(source: str, plant: Plant) -> CompiledRule:
    """Compile a condition over the plant's tags with the real expression compiler."""
    kinds = {ValueType.NUMBER: "number", ValueType.BOOL: "bool", ValueType.STRING: "string"}
    tags = {
        t.key: Symbol(f"tag:{t.key}", kinds[t.value_type], t.unit)  # type: ignore[arg-type]
        for t in plant.all_tags()
    }
    compiled = compile_expression(source, SPAN, Scope(tags=tags), CONDITION)
    assert isinstance(compiled, CompiledRule), compiled
    return compiled


def equipment_with(name: str, rules: list[tuple[EquipmentState, CompiledRule]]) -> Equipment:
    return Equipment(
        name, "", None, None, None, None, tuple(StateRule(s, r) for s, r in rules), SPAN
    )


def wait_for(read: Callable[[], T], check: Callable[[T], bool], timeout: float, what: str) -> T:
    """Poll ``read`` until ``check`` holds; fail naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = read()
        if check(seen):
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout} s; last: {seen}")
        time.sleep(0.02)


def good(value: object) -> Callable[[TagValue], bool]:
    return lambda v: v.quality is Quality.GOOD and v.value == value


class SimProcess:
    """The simulator for some devices in a child process that tests can kill, stop and restart."""

    def __init__(self, devices: list[Device]) -> None:
        self.devices = devices
        self.process: BaseProcess | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        self.process = context.Process(target=serve, args=(self.devices, 0.05, ready), daemon=True)
        self.process.start()
        assert ready.wait(30), "simulator did not start within 30 s"

    def signal(self, number: int) -> None:
        assert self.process is not None and self.process.pid is not None
        os.kill(self.process.pid, number)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.join(5)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.signal(signal.SIGCONT)
            self.process.terminate()
            self.process.join(5)
            if self.process.is_alive():
                self.kill()


def reader(path: Path) -> TagCache:
    return TagCache.open(path)


class RuntimeThread:
    """The adapter runtime on its own event loop in a thread, as the adapter process runs it;
    ``secrets_dir`` is the site secrets folder the devices' certificates and keys come from."""

    def __init__(
        self,
        plant: Plant,
        directory: Path,
        backoff: Backoff | None = None,
        *,
        secrets_dir: Path = Path("."),
    ) -> None:
        self.plant = plant
        self.secrets_dir = secrets_dir
        self.cache_path = directory / "tags.mmap"
        self.control_path = directory / "control.sock"
        self.backoff = backoff or Backoff(first=0.05, cap=0.5)
        self.changes: list[StateChange] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.ready = threading.Event()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop_event = asyncio.Event()
        self.runtime = AdapterRuntime(
            self.plant,
            self.secrets_dir,
            self.cache_path,
            self.changes.append,
            control_path=self.control_path,
            backoff=self.backoff,
        )
        self.loop.call_soon(self.ready.set)
        self.loop.run_until_complete(self.runtime.run(self.stop_event))

    def start(self) -> TagCache:
        self.thread.start()
        assert self.ready.wait(10), "runtime did not start within 10 s"
        return TagCache.open(self.cache_path)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)
        assert not self.thread.is_alive(), "runtime did not stop within 10 s"
        self.loop.close()


class LoopThread:
    """An event loop in a thread, for servers that must keep answering while a test blocks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the loop and wait at most ``timeout`` seconds for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        assert not self.thread.is_alive(), "event loop thread did not stop within 5 s"
        self.loop.close()
