"""Event rules end to end: the real ``ferrule rules`` process reading the real adapter runtime's
tag cache file, fed by the simulator in a child process. When the press's pressure stays above
180 bar, the process records one firing, the press is held (down), the target force is written
to the device through the adapter's control socket, and the outbox holds the event."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from adapter_helpers import RuntimeThread, SimProcess, good, wait_for
from integration_support import plant_on_free_ports
from sqlalchemy import select

from adapters.cache import TagCache
from adapters.control import socket_next_to
from dsl.model import Device, SimBehaviour
from engine.commands import versions
from engine.commands.equipment import status
from engine.facade.audit import AuditTrail
from engine.facade.event_rules import EventRules
from engine.infra.db import Database
from engine.records.events import OutboxEvent

SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
"""Like the device tests: processes on both sides of the cache, SQLite only (the engine tests
cover both databases)."""
RULE = "press-overpressure"


def _press(devices: list[Device], pressure: float) -> list[Device]:
    """The devices with the press simulating ``pressure`` bar and a target force of 500 N."""
    press = next(d for d in devices if d.name == "press1")
    tags = {
        **press.tags,
        "pressure": dataclasses.replace(
            press.tags["pressure"], sim=SimBehaviour("constant", value=pressure)
        ),
        "target_force": dataclasses.replace(
            press.tags["target_force"], sim=SimBehaviour("constant", value=500.0)
        ),
    }
    return [dataclasses.replace(d, tags=tags) if d is press else d for d in devices]


@pytest.fixture
def rules_line(
    db: Database, tmp_path: Path, short_dir: Path
) -> Iterator[tuple[RuntimeThread, TagCache]]:
    """acme-harness on free ports with ``for: 1 s``, deployed; the adapter runtime running."""
    folder = plant_on_free_ports(tmp_path)
    site = folder / "site.yaml"
    text = site.read_text(encoding="utf-8")
    assert text.count("    for: 10 s\n") == 1
    site.write_text(text.replace("    for: 10 s\n", "    for: 1 s\n"), encoding="utf-8")
    versions.deploy(db, folder, actor="admin", note="event rules integration test")
    runtime = RuntimeThread(versions.active_plant(db)[1], short_dir)
    cache = runtime.start()
    # the process finds the control socket beside the cache, as the adapter process puts it
    socket_next_to(runtime.cache_path).symlink_to(runtime.control_path)
    yield runtime, cache
    cache.close()
    runtime.stop()


def _rules_process(db: Database, runtime: RuntimeThread, var: Path) -> subprocess.Popen[bytes]:
    ferrule = Path(sys.executable).parent / "ferrule"
    env = {**os.environ, "FERRULE_DATABASE_URL": db.url, "FERRULE_VAR": str(var)}
    command = [str(ferrule), "rules", "--cache", str(runtime.cache_path), "--period", "0.05"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@SQLITE_ONLY
def test_the_rules_process_holds_the_press_when_its_pressure_stays_high(
    db: Database, rules_line: tuple[RuntimeThread, TagCache], tmp_path: Path
) -> None:
    runtime, cache = rules_line
    devices = list(versions.active_plant(db)[1].devices.values())
    sim = SimProcess(_press(devices, 70.0))
    sim.start()
    process = _rules_process(db, runtime, tmp_path)
    try:
        wait_for(partial(cache.read, "press1.pressure"), good(70.0), 15, "pressure 70 bar")
        wait_for(partial(cache.read, "press1.target_force"), good(500.0), 15, "force 500 N")
        firings = EventRules(db)
        assert firings.firings() == []
        sim.stop()
        sim = SimProcess(_press(devices, 190.0))
        sim.start()
        wait_for(partial(cache.read, "press1.pressure"), good(190.0), 15, "pressure 190 bar")
        (firing,) = wait_for(firings.firings, bool, 15, "a recorded firing")
        wait_for(partial(cache.read, "press1.target_force"), good(0.0), 15, "force written 0 N")
        assert process.poll() is None
    finally:
        sim.stop()
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "rules: evaluating 1 event rules" in output
    assert (firing.rule, firing.outcome) == (RULE, "fired")
    assert firing.readings[0].value == 190.0
    assert [(a.action, a.outcome) for a in firing.actions] == [
        ("hold crimp-press-1", "down"),
        ("nonconformance crimp-press-1", "nonconformance #1 opened"),
        ("notify supervisor", "supervisor notified"),
        ("write press1.target_force = 0 N", "written"),
    ]
    with db.session() as session:
        assert status(session, "crimp-press-1").state == "down"
        (event,) = session.scalars(select(OutboxEvent).where(OutboxEvent.entity == "event_rule"))
    assert (event.entity_id, event.action) == (RULE, "fire")
    assert AuditTrail(db).verify().ok
