"""Two operators completing the same unit's step at the same moment: exactly one wins."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import threading

from engine_exec_support import CRIMP_DATA, Line, line  # noqa: F401
from sqlalchemy import func, select

from engine.commands import materials
from engine.commands.bom import ConsumptionInput
from engine.errors import Conflict
from engine.infra import audit
from engine.records.production import Consumption, Measurement, OperationRun


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
