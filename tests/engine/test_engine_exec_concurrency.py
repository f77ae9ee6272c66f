"""Commands racing on real threads: two completions of one step (exactly one wins), completions
of different units drawing from one lot (all win), a lot change read before another committed,
and identical requests sharing an idempotency key (all get the stored result)."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from engine_exec_support import CRIMP_DATA, CUT_DATA, Line, line  # noqa: F401
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.commands import materials
from engine.commands.bom import ConsumptionInput
from engine.errors import Conflict, DomainError
from engine.infra import audit
from engine.records.production import Consumption, Measurement, OperationRun
from engine.records.tables import Lot


def test_concurrent_completions_one_wins_the_other_gets_a_conflict(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    revision = line.engine.item(unit).revision
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[object] = []

    def complete() -> None:
        barrier.wait()
        try:
            outcomes.append(
                line.engine.complete_operation(
                    actor=line.operator,
                    item=unit,
                    operation="crimp",
                    data=CRIMP_DATA,
                    consume=[ConsumptionInput("TERM-22", "T-001")],
                    expected_revision=revision,
                )
            )
        except Conflict as conflict:
            outcomes.append(conflict)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(outcomes) == 2 and len(conflicts) == 1
    assert "by someone else a moment ago" in conflicts[0].message
    assert conflicts[0].message.endswith("reload to see its current step.") or conflicts[
        0
    ].message.endswith("try again.")
    with line.engine.db.session() as session:
        runs = session.scalar(
            select(func.count()).select_from(OperationRun).where(OperationRun.operation == "crimp")
        )
        links = session.scalar(
            select(func.count()).select_from(Consumption).where(Consumption.part == "TERM-22")
        )
        values = session.scalar(select(func.count()).select_from(Measurement))
        lot = materials.find_lot(session, "TERM-22", "T-001")
        verdict = audit.verify(session)
    assert (runs, links, values) == (1, 1, 2 + 3)
    assert lot.quantity == 998.0
    assert verdict.ok, verdict.describe()
    assert line.engine.item(unit).current_operation == "test"


def test_completion_without_a_revision_loses_with_a_clear_message(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.crimp(unit)
    try:
        line.engine.complete_operation(actor=line.operator, item=unit, operation="crimp")
    except Conflict as conflict:
        assert conflict.message == (
            f"'crimp' on Unit {unit} was completed by olga a moment ago; reload to see its "
            "current step."
        )
    else:
        raise AssertionError("a second completion must be refused")


def _race(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(0)`` … ``work(count - 1)`` in threads released together; each one's result or
    domain error, in order."""
    barrier = threading.Barrier(count, timeout=60)
    outcomes: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = work(index)
        except DomainError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def test_completions_on_different_units_share_a_lot_without_conflicts(line: Line) -> None:
    units = line.release(8)
    for unit in units:
        line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    outcomes = _race(
        len(units),
        lambda i: line.engine.complete_operation(
            actor=line.operator,
            item=units[i],
            operation="cut",
            data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        ),
    )
    assert [getattr(o, "route", o) for o in outcomes] == ["next"] * len(units)
    with line.engine.db.session() as session:
        lot = materials.find_lot(session, "WIRE-18-RD", "W-001")
        verdict = audit.verify(session)
    assert lot.quantity == 100.0 - 0.5 * len(units)
    assert verdict.ok, verdict.describe()


def test_a_lot_change_read_before_another_commits_is_refused_not_lost(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold that read the lot before a scrap committed must not write over the scrap."""
    db = line.engine.db
    read, go = threading.Event(), threading.Event()
    real_lot = materials.lot_row

    def lot_then_pause(session: Session, part: str, number: str) -> Lot:
        found = real_lot(session, part, number)
        if threading.current_thread().name == "hold":
            read.set()
            assert go.wait(60)
        return found

    monkeypatch.setattr(materials, "lot_row", lot_then_pause)
    outcomes: dict[str, object] = {}

    def change(name: str, act: Callable[[Session], object]) -> threading.Thread:
        def run() -> None:
            try:
                with db.transaction() as session:
                    outcomes[name] = act(session)
            except Conflict as conflict:
                outcomes[name] = conflict

        thread = threading.Thread(target=run, name=name)
        thread.start()
        return thread

    hold = change(
        "hold", lambda s: materials.hold_lot(s, "TERM-22", "T-001", actor="quinn", reason="plating")
    )
    assert read.wait(60)
    scrap = change(
        "scrap", lambda s: materials.scrap_lot(s, "TERM-22", "T-001", actor="quinn", reason="rust")
    )
    if not db.is_sqlite:  # SQLite: the hold holds the write lock, the scrap waits for it
        scrap.join(60)
    go.set()
    for thread in (hold, scrap):
        thread.join(60)
        assert not thread.is_alive()
    with db.session() as session:
        final = materials.find_lot(session, "TERM-22", "T-001").status
        trail = [
            (row["old"]["status"], row["new"]["status"])
            for row in audit.history(
                session, "lot", materials.find_lot(session, "TERM-22", "T-001").id
            )
            if row["action"] in ("hold", "scrap")
        ]
    assert final == "scrapped"
    assert all(before[1] == after[0] for before, after in itertools.pairwise(trail))
    if not db.is_sqlite:
        assert isinstance(outcomes["hold"], Conflict)
        assert outcomes["hold"].message == (
            "Lot 'T-001' of part 'TERM-22' was changed by someone else a moment ago; reload and "
            "try again."
        )


@pytest.mark.parametrize("command", ["start", "complete"])
def test_fifty_identical_requests_with_one_key_all_get_the_stored_result(
    line: Line, command: str
) -> None:
    (unit,) = line.release(1)
    if command == "complete":
        line.engine.start_operation(actor=line.operator, item=unit, operation="cut")

    def send(_: int) -> object:
        if command == "start":
            return line.engine.start_operation(
                actor=line.operator, item=unit, operation="cut", idempotency_key="k-50"
            )
        return line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")], idempotency_key="k-50",
        )  # fmt: skip

    outcomes = _race(50, send)
    errors = [o for o in outcomes if isinstance(o, DomainError)]
    assert errors == []
    assert len({audit.canonical(o.to_json()) for o in outcomes}) == 1  # type: ignore[attr-defined]
    with line.engine.db.session() as session:
        lot = materials.find_lot(session, "WIRE-18-RD", "W-001")
    assert lot.quantity == (99.5 if command == "complete" else 100.0)
