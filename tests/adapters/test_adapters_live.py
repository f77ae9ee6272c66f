"""Real simulated devices (OPC UA and Modbus on 127.0.0.1, in a child process) through the adapter
runtime into the shared cache: types, scaling, word order, faults and setpoint writes."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from adapter_helpers import (
    RuntimeThread,
    SimProcess,
    free_port,
    good,
    make_plant,
    modbus_device,
    opcua_device,
    wait_for,
)
from asyncua import Client

from adapters.cache import Quality, TagCache, TagValue
from adapters.control import ControlClient
from adapters.opcua import OpcUaSimServer
from dsl.model import Device, ModbusAddress, OpcUaAddress, RegisterKind, SimBehaviour, ValueType

H = RegisterKind.HOLDING
LOST = ("connection lost", "connection refused")
"""What a killed device reads as: the loss itself or a failed reconnect (never a timeout: a
request in flight when the server dies fails at once)."""


def constant(value: float | bool | str) -> SimBehaviour:
    return SimBehaviour("constant", value=value)


def build_devices(timeout_s: float = 1.0) -> list[Device]:
    press = opcua_device(
        "press",
        free_port(),
        {
            "pressure": {"unit": "bar", "sim": constant(70.5)},
            "fault": {"value_type": ValueType.BOOL, "sim": constant(True)},
            "recipe": {"value_type": ValueType.STRING, "sim": constant("HA-100")},
            "target": {"unit": "N", "writable": True, "sim": constant(0.0)},
            "strokes": {"sim": SimBehaviour("counter", value=0, rate_per_s=20.0)},
            "nan": {"sim": constant(math.nan)},
            "ninf": {"sim": constant(-math.inf)},
        },
        timeout_s=timeout_s,
    )
    tester = modbus_device(
        "tester",
        free_port(),
        {
            "big": (ModbusAddress(H, 100, "float32"), {"sim": constant(2.5)}),
            "little": (ModbusAddress(H, 102, "float32", "little"), {"sim": constant(-1.25)}),
            "signed": (ModbusAddress(H, 104, "int16"), {"sim": constant(-5)}),
            "scaled": (
                ModbusAddress(RegisterKind.INPUT, 10, "uint16", scale=0.1),
                {"unit": "Mohm", "sim": constant(500.0)},
            ),
            "ready": (
                ModbusAddress(RegisterKind.DISCRETE, 3, "bool"),
                {"value_type": ValueType.BOOL, "sim": constant(True)},
            ),
            "setpoint": (
                ModbusAddress(H, 110, "int32", scale=0.01),
                {"writable": True, "sim": constant(1.0)},
            ),
            "walk": (
                ModbusAddress(H, 120, "uint16"),
                {"sim": SimBehaviour("walk", value=500, low=0, high=1000)},
            ),
            "nan": (ModbusAddress(H, 106, "float32"), {"sim": constant(math.nan)}),
            "inf": (ModbusAddress(H, 112, "float32"), {"sim": constant(math.inf)}),
        },
        timeout_s=timeout_s,
    )
    return [press, tester]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory (Unix socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="ferrule-") as name:
        yield Path(name)


@pytest.fixture
def live(
    sim_factory: Callable[[list[Device]], SimProcess], short_dir: Path
) -> Iterator[tuple[SimProcess, RuntimeThread, TagCache]]:
    devices = build_devices()
    sim = sim_factory(devices)
    runtime = RuntimeThread(make_plant(devices), short_dir)
    cache = runtime.start()
    yield sim, runtime, cache
    runtime.stop()


def reading(cache: TagCache, key: str) -> Callable[[], TagValue]:
    return lambda: cache.read(key)


def test_values_reach_the_cache_with_their_types_scaling_and_word_order(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    _, _, cache = live
    expected = {
        "press.pressure": 70.5,
        "press.fault": True,
        "press.recipe": "HA-100",
        "tester.big": 2.5,
        "tester.little": -1.25,
        "tester.signed": -5.0,
        "tester.scaled": 500.0,
        "tester.ready": True,
        "tester.setpoint": 1.0,
    }
    for key, value in expected.items():
        found = wait_for(reading(cache, key), lambda v: v.quality is Quality.GOOD, 10, key)
        assert (
            found.value == pytest.approx(value)
            if isinstance(value, float)
            else found.value == value
        ), key
        assert type(found.value) is type(value), key
    first = wait_for(
        reading(cache, "press.strokes"), lambda v: v.quality is Quality.GOOD, 5, "strokes"
    )
    wait_for(reading(cache, "press.strokes"), lambda v: v.value != first.value, 5, "strokes moving")
    walk = cache.read("tester.walk")
    wait_for(reading(cache, "tester.walk"), lambda v: v.value != walk.value, 5, "walk moving")
    assert abs(time.time() - cache.read("press.strokes").source_time) < 5


def test_a_killed_device_turns_bad_at_once_and_recovers_after_restart(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    sim, _, cache = live
    for key in ("press.pressure", "tester.big"):
        wait_for(reading(cache, key), lambda v: v.quality is Quality.GOOD, 10, key)
    sim.kill()
    for key in ("press.pressure", "tester.big"):
        bad = wait_for(reading(cache, key), lambda v: v.quality is Quality.BAD, 1.5, f"{key} bad")
        device = key.partition(".")[0]
        assert bad.reason in {f"{device}: {why}" for why in LOST}
        assert (cache.unavailable_reason(key) or "").startswith(f"{device}: "), key
        assert (cache.unavailable_reason(key) or "").endswith(" ago)"), key
    sim.start()
    wait_for(reading(cache, "press.pressure"), good(70.5), 15, "press.pressure recovered")
    wait_for(reading(cache, "tester.big"), good(2.5), 15, "tester.big recovered")


def test_non_finite_numbers_are_bad_with_a_reason_the_operator_can_read(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    _, _, cache = live
    for key, sent in {
        "press.nan": "NaN",
        "press.ninf": "-Inf",
        "tester.nan": "NaN",
        "tester.inf": "+Inf",
    }.items():
        reason = f"{key}: the device sent {sent}"
        found = wait_for(
            reading(cache, key),
            lambda v, reason=reason: v.quality is Quality.GOOD or v.reason == reason,
            10,
            f"{key} reported",
        )
        assert (found.value, found.quality, found.reason) == (None, Quality.BAD, reason)


def test_a_hung_device_is_detected_within_its_timeout(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    sim, _, cache = live
    for key in ("press.pressure", "tester.big"):
        wait_for(reading(cache, key), lambda v: v.quality is Quality.GOOD, 10, key)
    sim.signal(signal.SIGSTOP)
    try:
        hung_at = time.monotonic()
        # timeout 1 s; the OPC UA probe runs every half timeout, so detection takes ≤ 1.5 s
        bad = wait_for(
            reading(cache, "tester.big"), lambda v: v.quality is Quality.BAD, 2.5, "tester bad"
        )
        assert bad.reason == "tester: no answer within 1 s"
        bad = wait_for(
            reading(cache, "press.pressure"), lambda v: v.quality is Quality.BAD, 2.5, "press bad"
        )
        assert bad.reason == "press: no answer within 1 s"
        assert time.monotonic() - hung_at < 2.5
    finally:
        sim.signal(signal.SIGCONT)
    wait_for(reading(cache, "press.pressure"), good(70.5), 15, "press.pressure recovered")
    wait_for(reading(cache, "tester.big"), good(2.5), 15, "tester.big recovered")


def test_setpoints_are_written_and_confirmed_by_read_back(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    _, runtime, cache = live
    wait_for(
        reading(cache, "press.target"), lambda v: v.quality is Quality.GOOD, 10, "press.target"
    )
    wait_for(
        reading(cache, "tester.setpoint"),
        lambda v: v.quality is Quality.GOOD,
        10,
        "tester.setpoint",
    )
    client = ControlClient(runtime.control_path, timeout_s=5)
    assert client.write("press.target", 1200, 5.0) is None
    assert cache.read("press.target").value == 1200.0
    assert client.write("tester.setpoint", 12.34, 0.005) is None
    assert cache.read("tester.setpoint").value == pytest.approx(12.34)
    assert (
        client.write("press.pressure", 1.0, 0.1)
        == "cannot write press.pressure: the tag is not declared writable"
    )
    assert (
        client.write("press.nope", 1.0, 0.1) == "cannot write press.nope: no such tag in this plant"
    )
    assert client.write("tester.setpoint", 1e12, 0.1) == (
        "cannot write tester.setpoint: value 1000000000000.0 does not fit int32 at holding 110 "
        "(raw 1e+14 outside -2147483648..2147483647 after scale and offset)"
    )


def test_a_write_to_a_lost_device_fails_with_a_reason(
    live: tuple[SimProcess, RuntimeThread, TagCache],
) -> None:
    sim, runtime, cache = live
    wait_for(
        reading(cache, "press.target"), lambda v: v.quality is Quality.GOOD, 10, "press.target"
    )
    sim.kill()
    wait_for(
        reading(cache, "press.target"), lambda v: v.quality is Quality.BAD, 2, "press.target bad"
    )
    answer = ControlClient(runtime.control_path, timeout_s=5).write("press.target", 10, 1.0)
    assert answer is not None
    assert answer.startswith("cannot write press.target: device press is unavailable (")


def test_a_write_without_the_adapter_process_says_so(short_dir: Path) -> None:
    answer = ControlClient(short_dir / "control.sock").write("press.target", 10, 1.0)
    assert answer == "cannot write press.target: the adapter process for this site is not running"


def test_the_simulator_serves_nodes_in_namespaces_beyond_two() -> None:
    """PLCs such as the S7-1500 put their tags in ns=3 and above; the simulator must too."""
    port = free_port()
    device = opcua_device("plc", port, {"speed": {}})
    tag = device.tags["speed"]
    deep = dataclasses.replace(tag, address=OpcUaAddress("ns=4;s=DB1.Speed"))
    device = dataclasses.replace(device, tags={"speed": deep})

    async def scenario() -> float:
        server = OpcUaSimServer(device, {"plc.speed": 42.0})
        await asyncio.wait_for(server.start(), 20)
        try:
            endpoint = f"opc.tcp://127.0.0.1:{port}/ferrule/plc"
            async with Client(endpoint, timeout=5) as client:
                value = await client.get_node("ns=4;s=DB1.Speed").read_value()
                return float(value)
        finally:
            await server.stop()

    assert asyncio.run(asyncio.wait_for(scenario(), 40)) == 42.0
