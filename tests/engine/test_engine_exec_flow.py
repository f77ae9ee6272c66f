"""A unit's walk through the acme-harness routing: starts, completions, work orders, queries;
and what the station form says an item (a unit, or a lot of the brightwater sauce) draws."""

# ruff: noqa: F811  (the fixtures ``line`` and ``kitchen`` come from other test modules)

from __future__ import annotations

import pytest
from engine_exec_support import CRIMP_DATA, CUT_DATA, Line, line  # noqa: F401
from sqlalchemy import func, select
from test_engine_exec_lots import Kitchen, kitchen  # noqa: F401

from engine.commands.bom import ConsumptionInput
from engine.errors import Blocked, Conflict, Forbidden, NotFound
from engine.records.production import StartAttempt
from engine.records.tables import AuditRecord
from web import forms


def test_happy_path_completes_the_unit_and_records_everything(line: Line) -> None:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    assert line.test(unit) == "completed"
    view = line.engine.item(unit)
    assert (view.status, view.current_operation) == ("completed", None)
    kinds = [e.kind for e in line.engine.history(unit)]
    assert kinds.count("start") == 3
    assert kinds.count("complete") == 3
    assert kinds.count("signature") == 1
    crimp = next(
        e for e in line.engine.history(unit) if e.kind == "complete" and e.operation == "crimp"
    )
    assert crimp.detail["data"] == {"pull_force": "80 N", "crimp_height": "1.55 mm", "visual": "ok"}
    assert crimp.detail["captures"]["press1.pressure"] == "70 bar"
    assert line.tags.read(["press1.pressure"])  # the static source still answers


def test_unit_numbers_follow_the_product_pattern(line: Line) -> None:
    units = line.release(3)
    assert len(units) == 3
    assert units[0].startswith("HA") and units[0].endswith("-00001")
    assert units[2].endswith("-00003")
    assert line.release(1)[0].endswith("-00004")


def test_blocked_start_is_recorded_and_explained(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.tags.set("press1.pressure", 50.0)
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert blocked.value.message == (
        f"Cannot start 'crimp' on Unit {unit}: Press pressure is outside its 60–80 bar window "
        "(press1.pressure = 50 bar)."
    )
    failing = [c["name"] for c in blocked.value.checks if c["outcome"] != "pass"]
    assert failing == ["Press pressure is outside its 60–80 bar window"]
    with line.engine.db.session() as session:
        attempts = session.scalars(select(StartAttempt.allowed).order_by(StartAttempt.id)).all()
    assert attempts == [True, False]
    assert line.engine.item(unit).status == "queued"


def test_missing_tag_blocks_as_unknown(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.tags = line.tags  # same source; drop the pressure reading
    line.tags._values.pop("press1.pressure")
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert "(cannot be checked: press1.pressure is unavailable)" in blocked.value.message


def test_wrong_operation_and_state_messages(line: Line) -> None:
    (unit,) = line.release(1)
    with pytest.raises(Conflict) as wrong:
        line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    assert wrong.value.message == f"Unit {unit} waits at 'cut', not 'crimp'; start 'cut' first."
    with pytest.raises(Conflict) as not_started:
        line.engine.complete_operation(
            actor=line.operator, item=unit, operation="cut", data=CUT_DATA
        )
    assert not_started.value.message == f"'cut' on Unit {unit} is not started; start it first."
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    with pytest.raises(Conflict) as twice:
        line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    assert twice.value.message == (
        f"'cut' on Unit {unit} is already started (by olga); complete it, or reload to see who "
        "is working on it."
    )
    with pytest.raises(NotFound) as unknown_op:
        line.engine.complete_operation(actor=line.operator, item=unit, operation="crimpp")
    assert (
        unknown_op.value.message
        == "Routing 'harness-a' has no operation 'crimpp'; did you mean 'crimp'?"
    )
    with pytest.raises(NotFound) as unknown:
        line.engine.start_operation(actor=line.operator, item="HA0000-99999", operation="cut")
    assert unknown.value.message == (
        "There is no unit or lot 'HA0000-99999'; check the number on its label and scan it again."
    )


def test_entered_data_is_validated_with_actionable_messages(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    with pytest.raises(Exception) as invalid:
        line.engine.complete_operation(
            actor=line.operator,
            item=unit,
            operation="cut",
            data={"length": 520, "lenght": 3},
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )
    assert invalid.value.message == (  # type: ignore[attr-defined]
        "lenght: operation 'cut' collects no such field; did you mean 'length'?; "
        "length: 520 mm is above the maximum 510 mm; strip_length: required; enter a value in mm"
    )
    assert line.engine.item(unit).operation_started


def test_idempotent_retry_returns_the_first_result(line: Line) -> None:
    (unit,) = line.release(1)
    line.engine.start_operation(actor=line.operator, item=unit, operation="cut")
    arguments = {
        "actor": line.operator,
        "item": unit,
        "operation": "cut",
        "data": CUT_DATA,
        "consume": [ConsumptionInput("WIRE-18-RD", "W-001")],
        "idempotency_key": "tablet-7-0001",
    }
    first = line.engine.complete_operation(**arguments)  # type: ignore[arg-type]
    again = line.engine.complete_operation(**arguments)  # type: ignore[arg-type]
    assert again == first
    assert len([e for e in line.engine.history(unit) if e.kind == "complete"]) == 1
    with pytest.raises(Conflict) as reused:
        line.engine.complete_operation(**{**arguments, "data": {**CUT_DATA, "length": 500.2}})  # type: ignore[arg-type]
    assert reused.value.message.startswith("idempotency key reused with a different request")


def test_work_order_commands_and_wip(line: Line) -> None:
    order = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=2)
    assert order.status == "created"
    with pytest.raises(Forbidden) as forbidden:
        line.engine.release_work_order(actor=line.operator, number=order.number)
    assert forbidden.value.message == (
        "User 'olga' may not release work orders: that needs the role 'admin' or 'supervisor'; "
        "ask an admin to grant it."
    )
    released = line.engine.release_work_order(actor=line.supervisor, number=order.number)
    first, second = released.items
    line.cut(first)
    wip = {(r.operation, r.status): r.count for r in line.engine.wip()}
    assert wip == {("crimp", "queued"): 1, ("cut", "queued"): 1}
    with pytest.raises(Conflict) as cancel:
        line.engine.cancel_work_order(actor=line.supervisor, number=order.number, reason="dup")
    assert cancel.value.message.startswith(f"Work has started on work order {order.number}")
    with pytest.raises(Conflict) as unfinished:
        line.engine.complete_work_order(actor=line.supervisor, number=order.number)
    assert unfinished.value.message == (
        f"Work order {order.number} still has 2 unfinished items ({first}, {second}); "
        "complete or scrap them first."
    )
    other = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=1)
    cancelled = line.engine.cancel_work_order(
        actor=line.supervisor, number=other.number, reason="customer withdrew"
    )
    assert cancelled.status == "cancelled"
    with pytest.raises(NotFound) as product:
        line.engine.create_work_order(actor=line.supervisor, product="HA-10", quantity=1)
    assert product.value.message == "The plant makes no product 'HA-10'; did you mean 'HA-100'?"


def test_every_state_change_is_audited(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    with line.engine.db.session() as session:
        actions = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.entity_id == unit)
            .order_by(AuditRecord.seq)
        ).all()
        lot_rows = session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "consume")
        )
    assert actions == ["create", "start", "complete"]
    assert lot_rows == 1
    assert CRIMP_DATA["visual"] == "ok"


def test_a_unit_draws_the_routing_quantity_of_each_component(line: Line) -> None:
    (unit,) = line.release(1)
    assert line.engine.needed_components(item=unit, operation="cut") == {"WIRE-18-RD": 0.5}
    assert line.engine.needed_components(item=unit, operation="crimp") == {"TERM-22": 2.0}
    with pytest.raises(NotFound) as unknown:
        line.engine.needed_components(item=unit, operation="crimpp")
    assert unknown.value.message == (
        "Routing 'harness-a' has no operation 'crimpp'; did you mean 'crimp'?"
    )
    operation = line.plant.routing_for("HA-100").operation("crimp")
    needed = line.engine.needed_components(item=unit, operation="crimp")
    (terminals,) = forms.operation_form(line.plant, operation, needed, per="pcs").consumptions
    assert (terminals.quantity, terminals.unit, terminals.per_unit, len(terminals.scans)) == (
        "2",
        "pcs",
        None,
        1,
    )


def test_the_station_form_shows_what_a_lot_draws(kitchen: Kitchen) -> None:
    lot = kitchen.release(500.0)
    needed = kitchen.engine.needed_components(item=lot, operation="dispense-major")
    assert needed == {
        "TOM-DICED": 260.0, "TOM-PASTE-28": 95.0, "ONION-DICED": 25.0, "OIL-OLIVE": 9.0,
    }  # fmt: skip
    _, plant = kitchen.engine.plant()
    operation = plant.routing_for("SAUCE-TB").operation("dispense-major")
    spec = forms.operation_form(plant, operation, needed, per="kg")
    shown = [(c.part, c.quantity, c.unit, c.tolerance, c.per_unit) for c in spec.consumptions]
    assert shown[0] == ("TOM-DICED", "260", "kg", "1 %", "0.52 kg per kg")
    assert shown[3] == ("OIL-OLIVE", "9", "kg", "1 %", "0.018 kg per kg")
