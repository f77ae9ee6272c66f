"""Issue 4 end to end through the engine: real simulated devices in a child process, the real
adapter runtime and its cache, the engine reading that cache (web.tags) and writing setpoints
through the runtime's control socket (adapters.control); a refused start names the adapter's
reason why a value is unavailable."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from adapter_helpers import LoopThread, RuntimeThread, free_port, wait_for
from integration_support import (
    OPERATOR,
    DeviceLine,
    SecureServer,
    read_device,
    unwritable,
    write_certificate,
)

from adapters.cache import Quality
from adapters.control import ControlClient
from adapters.opcua import OpcUaSimServer
from dsl.loader import load, load_or_raise
from dsl.model import OpcUaAddress, OpcUaConnection
from engine.errors import Blocked

PRESSURE_RULE = "Press pressure is outside its 60–80 bar window"
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
"""The device tests run on SQLite only: each starts simulator processes (≈ 4 s apiece on this
machine), and what they test lies between the devices and the engine, not in the database, whose
two backends the engine tests already cover."""


def check_named(checks: tuple[Mapping[str, Any], ...], name: str) -> Mapping[str, Any]:
    (found,) = [c for c in checks if c["name"] == name]
    return found


PRESS_DOWN = r"press1: connection (lost|refused) \(since \d+ s ago\)"
"""The adapter's reason for the killed press: lost at first, refused once it retries; since the
failure began."""


def maintenance_unknown(why: str) -> str:
    """The maintenance check of the press when its stroke counter cannot be read (fail safe)."""
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    return (
        "Maintenance of crimp-press-1 is overdue (cannot be checked: equipment.maintenance_due "
        f"is unavailable: press1.strokes is unavailable: {why}, so the uses of crimp-press-1 "
        f"since its last maintenance cannot be counted, today = {today})"
    )


def matches(text: str, template: str, why: str) -> bool:
    """Whether ``text`` is ``template`` with each ``{why}`` a match of the pattern ``why``."""
    pattern = re.escape(template).replace(re.escape("{why}"), why)
    return re.fullmatch(pattern, text) is not None


@SQLITE_ONLY
def test_a_killed_press_blocks_crimp_naming_the_tag_and_its_restart_recovers_without_ferrule(
    device_line: DeviceLine,
) -> None:
    line = device_line
    unit = line.unit_at_crimp()
    line.run_devices()
    assert line.engine.preview_start(actor=OPERATOR, item=unit, operation="crimp").allowed
    runtime_thread = line.runtime.thread

    line.kill_devices()
    assert line.cache.read("press1.pressure").reason in {
        "press1: connection lost",
        "press1: connection refused",
    }
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=OPERATOR, item=unit, operation="crimp")
    message = blocked.value.message
    assert matches(
        message,
        f"Cannot start 'crimp' on Unit {unit}: "
        "Equipment crimp-press-1 is down (equipment.state = down because press1.fault is "
        "unavailable: {why}); "
        f"{maintenance_unknown('{why}')}; "
        f"{PRESSURE_RULE} (cannot be checked: press1.pressure is unavailable: {{why}}); "
        "The press reports a fault (cannot be checked: press1.fault is unavailable: {why}).",
        PRESS_DOWN,
    ), message
    pressure = check_named(blocked.value.checks, PRESSURE_RULE)
    assert pressure["outcome"] == "unknown"
    (reading,) = pressure["checks"][0]["readings"]
    assert (reading["name"], reading["display"], reading["available"]) == (
        "press1.pressure",
        "unavailable",
        False,
    )
    assert re.fullmatch(PRESS_DOWN, reading["reason"]), reading
    preview = line.engine.preview_start(actor=OPERATOR, item=unit, operation="crimp")
    (by_pressure,) = [i for i in preview.interlocks if i.tags == ("press1.pressure",)]
    assert by_pressure.check["outcome"] == "unknown"
    assert [(r.key, r.quality, r.value) for r in by_pressure.readings] == [
        ("press1.pressure", "bad", None)
    ]
    assert re.fullmatch(PRESS_DOWN, by_pressure.readings[0].reason)
    assert matches(
        by_pressure.why,
        f"{PRESSURE_RULE} (cannot be checked: press1.pressure is unavailable: {{why}})",
        PRESS_DOWN,
    ), by_pressure.why
    item = line.engine.item(unit)
    assert (item.current_operation, item.operation_started) == ("crimp", False)

    line.run_devices()  # a new simulator process; the runtime and the engine keep running
    started = line.engine.start_operation(actor=OPERATOR, item=unit, operation="crimp")
    assert started.message == f"Started 'crimp' on Unit {unit}."
    assert check_named(started.checks, PRESSURE_RULE)["outcome"] == "pass"
    assert line.engine.item(unit).operation_started
    assert line.runtime.thread is runtime_thread and runtime_thread.is_alive()


@SQLITE_ONLY
def test_a_stopped_adapter_process_blocks_crimp_saying_so(device_line: DeviceLine) -> None:
    line = device_line
    unit = line.unit_at_crimp()
    line.run_devices()
    assert line.engine.preview_start(actor=OPERATOR, item=unit, operation="crimp").allowed
    # the adapter process stops cleanly (its heartbeat goes to zero); the loop is left open for
    # the fixture's own stop
    runtime = line.runtime
    runtime.loop.call_soon_threadsafe(runtime.stop_event.set)
    runtime.thread.join(10)
    assert not runtime.thread.is_alive()
    assert line.cache.unavailable_reason("press1.pressure") == "the adapter process is not running"
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=OPERATOR, item=unit, operation="crimp")
    down = "the adapter process is not running"
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Equipment crimp-press-1 is down (equipment.state "
        f"= down because press1.fault is unavailable: {down}); {maintenance_unknown(down)}; "
        f"{PRESSURE_RULE} (cannot be "
        f"checked: press1.pressure is unavailable: {down}); The press reports a fault (cannot "
        f"be checked: press1.fault is unavailable: {down})."
    )


@SQLITE_ONLY
def test_a_refused_setpoint_leaves_crimp_not_started_and_a_confirmed_one_starts_it(
    device_line: DeviceLine,
) -> None:
    line = device_line
    unit = line.unit_at_crimp()
    press = line.plant.devices["press1"]
    assert isinstance(press.connection, OpcUaConnection)
    target = press.tags["target_force"].address
    assert isinstance(target, OpcUaAddress)

    line.run_devices(unwritable(line.plant.devices.values(), "press1.target_force"))
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=OPERATOR, item=unit, operation="crimp")
    sentence = (
        "cannot write press1.target_force: device refused: "
        "User does not have permission to perform the requested operation.(BadUserAccessDenied)"
    )
    assert blocked.value.message == f"Cannot start 'crimp' on Unit {unit}: {sentence}."
    refused = check_named(blocked.value.checks, "setpoint press1.target_force")
    assert (refused["outcome"], refused["because"]) == ("fail", sentence)
    item = line.engine.item(unit)
    assert (item.current_operation, item.operation_started) == ("crimp", False)
    assert read_device(press.connection, target) == 0.0

    line.run_devices()  # the press again as declared: target_force writable
    started = line.engine.start_operation(actor=OPERATOR, item=unit, operation="crimp")
    assert started.message == f"Started 'crimp' on Unit {unit}."
    written = check_named(started.checks, "setpoint press1.target_force")
    assert (written["outcome"], written["checks"][0]["text"]) == (
        "pass",
        "press1.target_force = 1200 N",
    )
    assert read_device(press.connection, target) == 1200.0
    assert line.cache.read("press1.target_force").value == 1200.0
    assert line.engine.item(unit).operation_started


SECURE_SITE = """\
site: secure-cell
timezone: Europe/Berlin
devices:
  plain:
    opcua: {{endpoint: "{plain}", timeout: 2 s}}
    tags:
      pressure: {{node: "ns=2;s=Plain.Pressure", unit: bar}}
  sealed:
    opcua:
      endpoint: "{sealed}"
      security_policy: Basic256Sha256
      certificate: ferrule.der
      private_key: ferrule.pem
      server_certificate: sealed-server.der
      timeout: 2 s
    tags:
      pressure: {{node: "ns=2;s=Sealed.Pressure", unit: bar}}
      target: {{node: "ns=2;s=Sealed.Target", unit: N, writable: true}}
  stranger:
    opcua:
      endpoint: "{sealed}"
      security_policy: Basic256Sha256
      certificate: stranger.der
      private_key: stranger.pem
      timeout: 2 s
    tags:
      pressure: {{node: "ns=2;s=Sealed.Pressure", unit: bar}}
"""


def test_each_opcua_device_connects_with_its_own_security_policy_and_certificates(
    tmp_path: Path, short_dir: Path
) -> None:
    """Certificates and keys live in the site secrets folder, outside the plant folder; the plant
    names them, and the runtime reads them from there."""
    plant_dir, secrets = tmp_path / "plant", tmp_path / "secrets" / "secure-cell"
    press, trusted = tmp_path / "press", tmp_path / "press" / "trusted"
    write_certificate(secrets, "ferrule", "urn:acme:ferrule:adapters", server=False)
    write_certificate(secrets, "stranger", "urn:elsewhere:client", server=False)
    write_certificate(press, "sealed-server", "urn:acme:press:sealed", server=True)
    # each side trusts the other's certificate: the press ours, the site secrets the press's
    trusted.mkdir()
    shutil.copy(secrets / "ferrule.der", trusted / "ferrule.der")
    shutil.copy(press / "sealed-server.der", secrets / "sealed-server.der")
    endpoints = {
        name: f"opc.tcp://127.0.0.1:{free_port()}/ferrule/{name}" for name in ("plain", "sealed")
    }
    plant_dir.mkdir()
    (plant_dir / "site.yaml").write_text(SECURE_SITE.format(**endpoints), encoding="utf-8")
    checked = load(plant_dir, secrets_dir=secrets)
    assert checked.errors == ()
    assert checked.unchecked_secrets == ()
    assert load(plant_dir).unchecked_secrets == (
        "ferrule.der",
        "ferrule.pem",
        "sealed-server.der",
        "stranger.der",
        "stranger.pem",
    )
    plant = load_or_raise(plant_dir)
    sealed_config = plant.devices["sealed"].connection
    assert isinstance(sealed_config, OpcUaConnection)
    assert (sealed_config.security_policy, sealed_config.certificate) == (
        "Basic256Sha256",
        "ferrule.der",
    )
    assert sorted(plant.files) == ["site.yaml"]

    loop = LoopThread()
    plain = OpcUaSimServer(plant.devices["plain"], {"plain.pressure": 70.5})
    sealed = SecureServer(
        endpoints["sealed"],
        press / "sealed-server.der",
        press / "sealed-server.pem",
        trusted,
        "urn:acme:press:sealed",
    )
    runtime = RuntimeThread(plant, short_dir, secrets_dir=secrets)
    try:
        loop.run(plain.start(), 30)
        loop.run(sealed.start({"ns=2;s=Sealed.Pressure": 70.5, "ns=2;s=Sealed.Target": 0.0}), 30)
        cache = runtime.start()
        for key in ("plain.pressure", "sealed.pressure"):
            seen = wait_for(partial(cache.read, key), lambda v: v.quality is Quality.GOOD, 20, key)
            assert (seen.value, seen.reason) == (70.5, "")
        untrusted = wait_for(
            partial(cache.read, "stranger.pressure"),
            lambda v: v.reason.startswith("stranger: "),
            20,
            "stranger.pressure refused",
        )
        assert untrusted.quality is Quality.BAD
        assert (
            untrusted.reason == "stranger: The certificate is not trusted.(BadCertificateUntru..."
        )

        writer = ControlClient(runtime.control_path, timeout_s=10)
        assert writer.write("sealed.target", 1200.0, 5.0) is None
        assert loop.run(sealed.read("ns=2;s=Sealed.Target"), 10) == 1200.0
        assert cache.read("sealed.target").value == 1200.0
    finally:
        runtime.stop()
        loop.run(sealed.stop(), 10)
        loop.run(plain.stop(), 10)
        loop.close()
