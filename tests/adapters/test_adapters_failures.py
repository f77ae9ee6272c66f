"""Failures the adapter must notice at once and explain: an OPC UA subscription that stops
delivering while its session stays up, a connection that drops with a Modbus request in flight, and
a device dropping during a setpoint write."""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from adapter_helpers import (
    LoopThread,
    RuntimeThread,
    free_port,
    good,
    make_plant,
    modbus_device,
    opcua_device,
    wait_for,
)

from adapters.cache import Quality, TagCache, TagCacheWriter
from adapters.control import ControlClient, serve_control
from adapters.driver import DeviceError
from adapters.modbus import ModbusDriver
from adapters.opcua import OpcUaDriver, OpcUaSimServer
from adapters.runtime import Backoff, DeviceRunner, SetpointError
from dsl.model import Device, ModbusAddress, RegisterKind

HOLD_BAD = Backoff(first=2.0, cap=2.0)
"""Reconnect only after 2 s, so that the tests see the bad values before the recovery."""
PATIENT = 60.0
"""A device timeout no test waits for: what they test must happen long before it."""


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory (Unix socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="ferrule-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def press() -> Iterator[tuple[LoopThread, OpcUaSimServer, Device]]:
    """The simulator's OPC UA server for one press, on its own event loop, once per module."""
    device = opcua_device("press", free_port(), {"pressure": {}})
    loop = LoopThread()
    server = OpcUaSimServer(device, {"press.pressure": 70.5})
    loop.run(server.start(), 30)
    yield loop, server, device
    loop.run(server.stop(), 10)
    loop.close()


def cancel_task(runtime: RuntimeThread, name: str) -> None:
    """Cancel the runtime's task called ``name``, once it is running (within 10 s)."""

    async def cancel() -> int:
        found = [task for task in asyncio.all_tasks() if task.get_name() == name]
        for task in found:
            task.cancel()
        return len(found)

    def cancelled() -> int:
        return asyncio.run_coroutine_threadsafe(cancel(), runtime.loop).result(5)

    wait_for(cancelled, lambda count: count == 1, 10, name)


def test_a_dead_subscription_reader_turns_the_device_bad_at_once(
    press: tuple[LoopThread, OpcUaSimServer, Device], short_dir: Path
) -> None:
    _, _, device = press
    runtime = RuntimeThread(make_plant([device]), short_dir, HOLD_BAD)
    cache = runtime.start()
    try:
        wait_for(lambda: cache.read("press.pressure"), good(70.5), 15, "press.pressure")
        cancel_task(runtime, "opcua-subscription:press")
        bad = wait_for(
            lambda: cache.read("press.pressure"), lambda v: v.quality is Quality.BAD, 10, "bad"
        )
        assert bad.reason == "press: the OPC UA subscription reader stopped"
        wait_for(lambda: cache.read("press.pressure"), good(70.5), 15, "press.pressure recovered")
    finally:
        runtime.stop()


def test_a_subscription_without_publish_responses_turns_the_device_bad(
    press: tuple[LoopThread, OpcUaSimServer, Device], short_dir: Path
) -> None:
    """The session stays up and answers reads, but neither data nor keep-alives arrive."""
    loop, server, device = press
    runtime = RuntimeThread(make_plant([device]), short_dir, HOLD_BAD)
    cache = runtime.start()
    try:
        wait_for(lambda: cache.read("press.pressure"), good(70.5), 15, "press.pressure")
        loop.run(server.freeze_subscriptions(), 10)
        bad = wait_for(
            lambda: cache.read("press.pressure"), lambda v: v.quality is Quality.BAD, 10, "bad"
        )
        assert re.fullmatch(
            r"press: no data from the OPC UA subscription for \d+\.\d s", bad.reason
        )
        wait_for(lambda: cache.read("press.pressure"), good(70.5), 15, "press.pressure recovered")
    finally:
        runtime.stop()


@contextlib.asynccontextmanager
async def modbus_hanging_up() -> AsyncIterator[int]:
    """A server on 127.0.0.1 (its port yielded) that takes a Modbus request and closes the
    connection without answering: a device that dies with a request in flight."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


SETPOINT = ModbusAddress(RegisterKind.HOLDING, 110, "int32", scale=0.01)


def test_a_modbus_read_in_flight_fails_at_once_when_the_connection_closes() -> None:
    async def scenario() -> str:
        async with modbus_hanging_up() as port:
            device = modbus_device("tester", port, {"setpoint": (SETPOINT, {})}, PATIENT)
            driver = ModbusDriver(device)
            await driver.connect()
            try:
                with pytest.raises(DeviceError) as failed:
                    await driver.read(device.tags["setpoint"])
            finally:
                await driver.close()
            return str(failed.value)

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == "connection lost"


def test_a_modbus_write_in_flight_when_the_device_drops_says_so(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with modbus_hanging_up() as port:
            device = modbus_device(
                "tester", port, {"setpoint": (SETPOINT, {"writable": True, "unit": "N"})}, PATIENT
            )
            writer = TagCacheWriter(tmp_path / "tags.mmap", ["tester.setpoint"], [5.0])
            runner = DeviceRunner(device, Path("."), writer, lambda tag: None, Backoff())
            driver = ModbusDriver(device)
            await driver.connect()
            runner.driver = driver
            try:
                with pytest.raises(SetpointError) as refused:
                    await runner.write_setpoint(device.tags["setpoint"], 12.5, 0.01)
            finally:
                await driver.close()
                writer.close()
            return str(refused.value)

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == (
        "cannot write tester.setpoint: tester: connection lost while writing 12.5 N"
    )


def test_an_opcua_connection_dropped_during_a_setpoint_write_reaches_the_worker_as_such(
    short_dir: Path,
) -> None:
    """asyncua fails the write with ConnectionError; the worker must hear that the device dropped
    (not that the adapter process closed the connection)."""
    device = opcua_device("press", free_port(), {"target": {"writable": True, "unit": "N"}})
    target = device.tags["target"]
    control_path = short_dir / "control.sock"

    async def scenario() -> str | None:
        server = OpcUaSimServer(device, {"press.target": 0.0})
        await server.start()
        writer = TagCacheWriter(short_dir / "tags.mmap", ["press.target"], [5.0])
        runner = DeviceRunner(device, Path("."), writer, lambda tag: None, Backoff())
        driver = OpcUaDriver(device, Path("."))
        await driver.connect()
        runner.driver = driver
        control = await serve_control(
            control_path,
            lambda key, value, tolerance: runner.write_setpoint(target, value, tolerance),
            (SetpointError,),
        )
        try:
            await server.stop()  # the press drops every connection
            client = ControlClient(control_path, timeout_s=10)
            return await asyncio.to_thread(client.write, "press.target", 1200, 1.0)
        finally:
            control.close()
            await driver.close()
            writer.close()

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == (
        "cannot write press.target: press: connection lost while writing 1200 N"
    )


def test_an_unexpected_failure_while_writing_still_answers_the_worker(short_dir: Path) -> None:
    control_path = short_dir / "control.sock"

    async def broken(key: str, value: object, tolerance: float) -> float:
        raise RuntimeError("a bug")

    async def scenario() -> str | None:
        control = await serve_control(control_path, broken, (SetpointError,))
        try:
            client = ControlClient(control_path, timeout_s=10)
            return await asyncio.to_thread(client.write, "press.target", 1200, 1.0)
        finally:
            control.close()

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == (
        "cannot write press.target: the adapter process failed (RuntimeError; see its log)"
    )


def test_a_stopped_adapter_process_says_so_for_every_tag(
    press: tuple[LoopThread, OpcUaSimServer, Device], short_dir: Path
) -> None:
    _, _, device = press
    runtime = RuntimeThread(make_plant([device]), short_dir)
    cache = runtime.start()
    wait_for(lambda: cache.read("press.pressure"), good(70.5), 15, "press.pressure")
    assert cache.unavailable_reason("press.pressure") is None
    runtime.stop()
    assert TagCache.open(runtime.cache_path).unavailable_reason("press.pressure") == (
        "the adapter process is not running"
    )
