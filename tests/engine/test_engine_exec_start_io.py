"""Slow devices and slow hashes never hold the database: a start writes its setpoints with no
transaction open, and signatures are verified before the command's transaction."""

# ruff: noqa: F811  (the fixtures come from engine_exec_support)

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import select

from engine.access import passwords
from engine.commands.bom import ConsumptionInput
from engine.commands.start import StartResult
from engine.errors import Conflict
from engine.facade.production import Ferrule
from engine.floor.tagsource import Scalar
from engine.infra import audit
from engine.records.production import StartAttempt

WAIT_S = 60  # a bound on every wait, never a measure of speed


class BlockingWriter:
    """A setpoint writer whose first write waits until :attr:`release` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.written: list[tuple[str, Scalar]] = []
        self._lock = threading.Lock()

    def write(self, key: str, value: Scalar, tolerance: float) -> str | None:
        with self._lock:
            first = not self.entered.is_set()
            self.entered.set()
        if first and not self.release.wait(WAIT_S):
            return f"{key} did not answer"
        self.written.append((key, value))
        return None


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[object]]:
    """Run ``work`` in a thread; its result or exception lands in the returned list."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:  # the test inspects it
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _engine_with(line: Line, writer: BlockingWriter) -> Ferrule:
    return Ferrule(line.engine.db, line.tags, writer)


def test_a_start_waiting_on_its_device_does_not_hold_up_another_start(line: Line) -> None:
    first, second = line.release(2)
    line.cut(first)
    line.cut(second)
    writer = BlockingWriter()
    engine = _engine_with(line, writer)
    thread, outcome = _in_thread(
        lambda: engine.start_operation(actor=line.operator, item=first, operation="crimp")
    )
    try:
        assert writer.entered.wait(WAIT_S)
        other = engine.start_operation(actor=line.operator, item=second, operation="crimp")
        assert other.allowed
        assert thread.is_alive()  # the first start still waits in its device write
    finally:
        writer.release.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    (started,) = outcome
    assert isinstance(started, StartResult) and started.allowed
    assert [item.status for item in map(line.engine.item, (first, second))] == [
        "in_progress",
        "in_progress",
    ]
    assert writer.written == [("press1.target_force", 1200.0), ("press1.target_force", 1200.0)]


def test_a_start_not_recorded_after_its_setpoint_was_written_leaves_a_record(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    writer = BlockingWriter()
    engine = _engine_with(line, writer)
    thread, outcome = _in_thread(
        lambda: engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    )
    try:
        assert writer.entered.wait(WAIT_S)
        line.engine.hold(actor=line.supervisor, item=unit, reason="press inspection")
    finally:
        writer.release.set()
        thread.join(WAIT_S)
    (refused,) = outcome
    assert isinstance(refused, Conflict)
    assert refused.message == (
        f"Unit {unit} was changed by someone else a moment ago; reload to see its current step "
        "and try again."
    )
    assert line.engine.item(unit).status == "on_hold"
    with line.engine.db.session() as session:
        attempt = session.scalars(select(StartAttempt).order_by(StartAttempt.id.desc())).first()
        trail = audit.history(session, entity="item", entity_id=unit)
    assert attempt is not None and not attempt.allowed
    assert [c["name"] for c in attempt.checks][-2:] == [
        "setpoint press1.target_force",
        "start not recorded",
    ]
    assert attempt.checks[-1]["because"] == (
        "press1.target_force was written to the device, but the start was not recorded: "
        f"Unit {unit} was changed by someone else a moment ago; reload to see its current step "
        "and try again."
    )
    unrecorded = [r for r in trail if r["action"] == "start_not_recorded"]
    assert len(unrecorded) == 1
    assert unrecorded[0]["new"] == {
        "operation": "crimp",
        "attempt": attempt.id,
        "setpoints": {"press1.target_force": 1200.0},
    }


def test_signatures_are_verified_outside_the_write_transaction(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed, other = line.release(2)
    for unit in (signed, other):
        line.cut(unit)
        line.crimp(unit)
    line.engine.start_operation(actor=line.operator, item=signed, operation="test")
    hashing, done = threading.Event(), threading.Event()
    verify = passwords.verify  # argon2, which a signature runs with no session open

    def slow_verify(*args: Any, **kwargs: Any) -> bool:
        hashing.set()
        assert done.wait(WAIT_S)
        return verify(*args, **kwargs)

    monkeypatch.setattr(passwords, "verify", slow_verify)
    thread, outcome = _in_thread(
        lambda: line.engine.complete_operation(
            actor=line.operator,
            item=signed,
            operation="test",
            consume=[ConsumptionInput("HOUSING-4P", "H-001")],
            signatures=[line.signature()],
        )
    )
    try:
        assert hashing.wait(WAIT_S)
        assert line.engine.start_operation(actor=line.operator, item=other, operation="test")
        assert thread.is_alive()
    finally:
        done.set()
        thread.join(WAIT_S)
    assert [getattr(o, "route", o) for o in outcome] == ["completed"]


def test_a_start_without_a_device_connection_is_recorded_as_blocked(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    result = Ferrule(line.engine.db, line.tags).check_start(
        actor=line.operator, item=unit, operation="crimp"
    )
    assert not result.allowed
    assert result.message == (
        f"Cannot start 'crimp' on Unit {unit}: no device connection is available to write "
        "press1.target_force."
    )
    assert line.engine.item(unit).status == "queued"
    with line.engine.db.session() as session:
        assert session.scalars(select(StartAttempt.allowed)).all() == [True, False]
