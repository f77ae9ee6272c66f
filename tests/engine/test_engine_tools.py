"""Tools and fixtures: the scanned tool's checks at start (type, status, life, calibration, each
refusing with its message), cycles counted per completion, signed calibration and retirement,
the tool in the unit's history and genealogy, and the units made with a tool."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from engine_exec_support import CRIMP_DATA, GOOD_TAGS, Line, receive_stock
from sqlalchemy import select, update
from testdata import PASSWORD
from tool_plant import tool_plant_dir

from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import versions
from engine.commands.bom import ConsumptionInput
from engine.commands.calibration import CalibrationInput
from engine.errors import Blocked, Invalid
from engine.facade.audit import AuditTrail
from engine.facade.records import Records
from engine.facade.tools import Tools
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.production import Signature
from engine.records.tables import User
from engine.records.tools import ToolUse

MEANING = "Performed and verified"
START = dt.datetime.now(dt.UTC).replace(hour=10, minute=0, second=0, microsecond=0) + dt.timedelta(
    days=1
)


@pytest.fixture
def tools(db: Database, password_hash: str, tmp_path: Path) -> Tools:
    versions.deploy(
        db, tool_plant_dir(tmp_path), actor="admin", note="crimping needs an applicator"
    )
    plant = versions.active_plant(db)[1]
    with db.transaction() as session:
        for username, role in (("olga", "operator"), ("sam", "supervisor"), ("quinn", "quality")):
            people.create_user(session, username, actor="setup")
            people.grant_role(session, username, role, actor="setup", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(
                session, "olga", qualification, actor="setup", plant=plant,
                granted_on=START.date() - dt.timedelta(days=90),
            )  # fmt: skip
        session.execute(update(User).values(password_hash=password_hash))
    receive_stock(db, plant)
    tags = StaticTagSource(GOOD_TAGS, clock=lambda: START)
    return Tools(db, tags, RecordingSetpointWriter(), clock=lambda: START)


@pytest.fixture
def line(tools: Tools) -> Line:
    plant = versions.active_plant(tools.db)[1]
    return Line(tools, tools.runtime.tags, plant, "olga", "sam", "quinn", PASSWORD)  # type: ignore[arg-type]


def _signature() -> SignatureInput:
    return SignatureInput("quinn", PASSWORD, MEANING)


def _calibrate(tools: Tools, tool: str, result: str = "pass", note: str = "") -> None:
    given = CalibrationInput(
        result, START.date(), "Metrology lab", certificate="CAL-A17", note=note
    )
    tools.record_calibration(actor="quinn", tool=tool, given=given, signature=_signature())


def _cut(line: Line) -> str:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    return unit


def _refused(tools: Tools, unit: str, tool: str | None) -> list[str]:
    with pytest.raises(Blocked) as blocked:
        tools.start_operation(actor="olga", item=unit, operation="crimp", tool=tool)
    return [c["because"] for c in blocked.value.checks if c["outcome"] != "pass"]


def _crimp(tools: Tools, unit: str, tool: str) -> None:
    tools.start_operation(actor="olga", item=unit, operation="crimp", tool=tool)
    tools.complete_operation(
        actor="olga", item=unit, operation="crimp", data=CRIMP_DATA,
        consume=[ConsumptionInput("TERM-22", "T-001")],
    )  # fmt: skip


def _verified(db: Database) -> None:
    verdict = AuditTrail(db).verify()
    assert verdict.ok, verdict


def test_a_start_is_refused_without_the_right_calibrated_tool(tools: Tools, line: Line) -> None:
    unit = _cut(line)
    assert _refused(tools, unit, None) == [
        "No tool was scanned; scan the crimp applicator (applicator-22) used for 'crimp'"
    ]
    assert _refused(tools, unit, "A-99") == [
        "'A-99' is not a known tool; scan the label of a crimp applicator (applicator-22): "
        "A-17, A-18"
    ]
    assert _refused(tools, unit, "G-5") == [
        "Tool G-5 is a pin gauge (gauge-5), not a crimp applicator (applicator-22)"
    ]
    assert _refused(tools, unit, "A-17") == [
        "Calibration of tool A-17 is overdue (no calibration recorded)"
    ]
    _calibrate(tools, "A-17", "fail", note="crimp height out of tolerance")
    assert _refused(tools, unit, "A-17") == [
        f"Calibration of tool A-17 is overdue (due {START.date() - dt.timedelta(days=1)})"
    ]
    _calibrate(tools, "A-17")
    started = tools.start_operation(actor="olga", item=unit, operation="crimp", tool="A-17")
    assert started.allowed
    assert [c["name"] for c in started.checks if c["implicit"]][-4:] == [
        "tool is a applicator-22", "A-17 not held or retired", "A-17 within its life",
        "A-17 calibrated",
    ]  # fmt: skip
    _verified(tools.db)


def test_cycles_are_counted_per_completion_and_the_life_limit_blocks_the_next_start(
    tools: Tools, line: Line, db: Database
) -> None:
    _calibrate(tools, "A-17")
    first, second, third = _cut(line), _cut(line), _cut(line)
    _crimp(tools, first, "A-17")
    status = tools.tool("A-17").status
    assert (status.cycles, status.life, status.life_left, status.worn) == (1, 2, 1, False)
    _crimp(tools, second, "A-17")
    status = tools.tool("A-17").status
    assert (status.cycles, status.life_left, status.worn) == (2, 0, True)
    assert _refused(tools, third, "A-17") == [
        "Tool A-17 has reached its life limit (2 of 2 cycles); retire it and use another crimp "
        "applicator"
    ]
    with db.session() as session:
        assert session.scalars(select(ToolUse.cycles)).all() == [1, 1]
    made = tools.units_made_with("A-17")
    assert [u.number for u in made.units] == [first, second]
    assert (made.total, made.units[0].operation) == (2, "crimp")
    run = next(r for r in tools.genealogy(first).runs if r.operation == "crimp")
    assert run.tool == "A-17"
    completed = [e for e in tools.history(first) if e.kind == "complete" and e.operation == "crimp"]
    assert completed[0].detail["tool"] == "A-17"
    record = Records(tools).record("item", first)
    assert [(s.operation, s.tool) for s in record.steps] == [
        ("cut", None),
        ("crimp", "applicator-22 A-17"),
    ]
    _verified(db)


def test_a_retired_or_held_tool_blocks_a_start_and_its_units_can_be_held(
    tools: Tools, line: Line, db: Database
) -> None:
    _calibrate(tools, "A-18")
    made, waiting = _cut(line), _cut(line)
    _crimp(tools, made, "A-18")
    tools.change_status(
        actor="quinn", tool="A-18", action="hold", reason="burr on the anvil",
        signature=_signature(),
    )  # fmt: skip
    assert _refused(tools, waiting, "A-18") == [
        "Tool A-18 is on hold (burr on the anvil); use another crimp applicator"
    ]
    held = tools.hold_units(actor="sam", tool="A-18", reason="crimped with a burred applicator")
    assert held.held == (made,)
    tools.change_status(
        actor="quinn", tool="A-18", action="retire", reason="anvil worn",
        signature=_signature(),
    )  # fmt: skip
    assert _refused(tools, waiting, "A-18") == [
        "Tool A-18 is retired (anvil worn); use another crimp applicator"
    ]
    with pytest.raises(Invalid) as again:
        tools.change_status(
            actor="quinn", tool="A-18", action="release", reason="back", signature=_signature()
        )
    assert again.value.message == "Tool A-18 is retired; a retired tool stays retired."
    with db.session() as session:
        signed = session.scalars(
            select(Signature.record_type).where(Signature.record_type.like("tool%"))
        ).all()
    assert sorted(signed) == ["tool_calibration", "tool_status", "tool_status"]
    listed = {t.tool: t for t in tools.tools()}
    assert (listed["A-18"].status, listed["A-17"].calibration_overdue) == ("retired", True)
    _verified(db)
