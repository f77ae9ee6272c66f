"""Genealogy through a sub-assembly, and a purchased serial that can be used only once (and
scanned only once in a completion)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from engine.access import people
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.errors import Invalid
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User

PLANT = Path(__file__).parent / "plants" / "subassembly"


@dataclass
class Shop:
    engine: Ferrule

    def make(self, product: str, consume: list[ConsumptionInput], **data: float) -> str:
        order = self.engine.create_work_order(actor="sam", product=product, quantity=1)
        (unit,) = self.engine.release_work_order(actor="sam", number=order.number).items
        operation = "build" if product == "SUB-1" else "assemble"
        self.engine.start_operation(actor="olga", item=unit, operation=operation)
        self.engine.complete_operation(
            actor="olga", item=unit, operation=operation, data=data, consume=consume
        )
        return unit


@pytest.fixture
def shop(db: Database, password_hash: str) -> Shop:
    versions.deploy(db, PLANT, actor="admin")
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        for name, role in (("olga", "operator"), ("sam", "supervisor")):
            people.create_user(session, name, actor="setup")
            people.grant_role(session, name, role, actor="setup", plant=plant)
        session.execute(update(User).values(password_hash=password_hash))
        materials.receive_lot(session, plant, "CORE", "C-1", 10.0, actor="setup")
        materials.receive_lot(session, plant, "CORE", "C-2", 10.0, actor="setup")
        for serial in ("SN-1", "SN-2"):
            materials.receive_lot(session, plant, "SENSOR", serial, 1.0, actor="setup")
    return Shop(Ferrule(db, StaticTagSource()))


def test_backward_trace_goes_through_the_sub_assembly(shop: Shop) -> None:
    sub = shop.make("SUB-1", [ConsumptionInput("CORE", "C-1")], gap=0.2)
    top = shop.make("TOP-1", [ConsumptionInput("SUB-1", sub), ConsumptionInput("SENSOR", "SN-1")])
    trace = shop.engine.genealogy(top)
    assert [(i.number, i.depth, i.parent) for i in trace.items] == [(top, 0, None), (sub, 1, top)]
    assert sorted((lot.part, lot.lot, lot.used_by) for lot in trace.lots) == [
        ("CORE", "C-1", sub),
        ("SENSOR", "SN-1", top),
    ]
    assert [(r.item, r.operation, r.operator) for r in trace.runs] == [
        (sub, "build", "olga"),
        (top, "assemble", "olga"),
    ]
    assert trace.runs[0].values == {"gap": "0.2 mm"}
    assert len(trace.config_versions) == 1
    assert trace.to_json()["root"] == top


def test_forward_trace_finds_every_unit_containing_a_lot(shop: Shop) -> None:
    sub_a = shop.make("SUB-1", [ConsumptionInput("CORE", "C-1")], gap=0.2)
    sub_b = shop.make("SUB-1", [ConsumptionInput("CORE", "C-2")], gap=0.2)
    top_a = shop.make(
        "TOP-1", [ConsumptionInput("SUB-1", sub_a), ConsumptionInput("SENSOR", "SN-1")]
    )
    shop.make("TOP-1", [ConsumptionInput("SUB-1", sub_b), ConsumptionInput("SENSOR", "SN-2")])
    used = shop.engine.where_used("CORE", "C-1")
    assert [(u.number, u.depth, u.via) for u in used] == [(sub_a, 1, None), (top_a, 2, sub_a)]


def test_serial_and_sub_assembly_are_used_only_once(shop: Shop) -> None:
    sub = shop.make("SUB-1", [ConsumptionInput("CORE", "C-1")], gap=0.2)
    top = shop.make("TOP-1", [ConsumptionInput("SUB-1", sub), ConsumptionInput("SENSOR", "SN-1")])
    other = shop.make("SUB-1", [ConsumptionInput("CORE", "C-1")], gap=0.2)
    with pytest.raises(Invalid) as serial:
        shop.make("TOP-1", [ConsumptionInput("SUB-1", other), ConsumptionInput("SENSOR", "SN-1")])
    assert serial.value.message == (
        f"Serial 'SN-1' of part 'SENSOR' was already used in {top}; scan another serial."
    )
    with pytest.raises(Invalid) as reused:
        shop.make("TOP-1", [ConsumptionInput("SUB-1", sub), ConsumptionInput("SENSOR", "SN-2")])
    assert reused.value.message == f"SUB-1 '{sub}' was already used in {top}; scan another one."


def test_a_serial_scanned_twice_in_one_completion_is_invalid(shop: Shop) -> None:
    twice = [ConsumptionInput("SENSOR", "SN-1", 1.0), ConsumptionInput("SENSOR", "SN-1", 1.0)]
    with pytest.raises(Invalid) as refused:
        shop.make("PAIR-1", twice)
    assert refused.value.message == (
        "Serial 'SN-1' of part 'SENSOR' was scanned twice; scan each serial once."
    )
    assert refused.value.field == "consume"
    pair = shop.make(
        "PAIR-1", [ConsumptionInput("SENSOR", "SN-1", 1.0), ConsumptionInput("SENSOR", "SN-2", 1.0)]
    )
    assert sorted(lot.lot for lot in shop.engine.genealogy(pair).lots) == ["SN-1", "SN-2"]


def test_a_made_item_scanned_twice_in_one_completion_is_invalid(shop: Shop) -> None:
    sub = shop.make("SUB-1", [ConsumptionInput("CORE", "C-1")], gap=0.2)
    twice = [
        ConsumptionInput("SUB-1", sub, 0.5),
        ConsumptionInput("SUB-1", sub, 0.5),
        ConsumptionInput("SENSOR", "SN-1"),
    ]
    with pytest.raises(Invalid) as refused:
        shop.make("TOP-1", twice)
    assert refused.value.message == f"SUB-1 '{sub}' was scanned twice; scan each one once."
