"""Lot-tracked products on the brightwater-foods plant: a work order makes one lot of its whole
quantity, a lot draws its BOM quantity per product unit times its quantity, and ``every n``
samples every n-th lot of the product."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from testdata import REPO

from engine.access import people
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.commands.complete import CompleteResult
from engine.errors import Invalid
from engine.facade.production import Ferrule
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User

BRIGHTWATER = REPO / "plants" / "brightwater-foods"
NOW = dt.datetime(2026, 11, 3, 10, 0, tzinfo=ZoneInfo("Europe/London"))
TAGS: dict[str, float | bool | str] = {
    "floorscale.net_weight": 0.02, "floorscale.tare": 18.5, "floorscale.stable": True,
    "floorscale.overload": False, "floorscale.check_weight_age": 3.5,
    "benchscale.net_weight": 0.001, "benchscale.stable": True, "benchscale.overload": False,
    "benchscale.check_weight_age": 3.5,
    "kettle2.product_temp": 21.0, "kettle2.hold_time": 0.0, "kettle2.hold_min_temp": 21.0,
    "kettle2.temp_setpoint": 20.0, "kettle2.hold_setpoint": 0.0, "kettle2.steam_pressure": 3.1,
    "kettle2.agitator_running": True, "kettle2.agitator_speed": 42.0,
    "kettle2.batch_weight": 0.0, "kettle2.water_added": 100.2, "kettle2.cip_active": False,
    "kettle2.fault": False,
}  # fmt: skip
STOCK = {
    "TOM-DICED": ("TD-1", 5000.0), "TOM-PASTE-28": ("TP-1", 2000.0),
    "ONION-DICED": ("ON-1", 500.0), "OIL-OLIVE": ("OO-1", 200.0),
    "GARLIC-PUREE": ("GP-1", 100.0), "SUGAR-GRAN": ("SG-1", 100.0),
    "SALT-PDV": ("SP-1", 100.0), "BASIL-DRIED": ("BD-1", 20.0),
    "CITRIC-ACID": ("CA-1", 20.0), "JAR-500": ("J-1", 20000.0), "LID-TO70": ("L-1", 20000.0),
}  # fmt: skip
MAJOR = ("TOM-DICED", "TOM-PASTE-28", "ONION-DICED", "OIL-OLIVE")
MINOR = ("GARLIC-PUREE", "SUGAR-GRAN", "SALT-PDV", "BASIL-DRIED", "CITRIC-ACID")
QC_DATA = {
    "ph": 4.21, "brix": 12.2, "bostwick": 7.5, "salt": 0.86,
    "appearance": "conforms", "taste": "conforms",
}  # fmt: skip


def _scans(*parts: str) -> list[ConsumptionInput]:
    return [ConsumptionInput(part, STOCK[part][0]) for part in parts]


@dataclass
class Kitchen:
    """The brightwater engine at 10:00 on 2026-11-03, with stock and a qualified operator."""

    engine: Ferrule
    tags: StaticTagSource

    def release(self, quantity: float = 500.0) -> str:
        order = self.engine.create_work_order(actor="sam", product="SAUCE-TB", quantity=quantity)
        (lot,) = self.engine.release_work_order(actor="sam", number=order.number).items
        return lot

    def step(
        self,
        lot: str,
        operation: str,
        data: Mapping[str, Any] | None = None,
        consume: list[ConsumptionInput] | None = None,
    ) -> CompleteResult:
        self.engine.start_operation(actor="priya", item=lot, operation=operation)
        return self.engine.complete_operation(
            actor="priya", item=lot, operation=operation, data=data, consume=consume or []
        )

    def weigh_up(self, lot: str) -> None:
        self.step(lot, "dispense-major", {"line_clearance": True, "onion_temp": -18.5},
                  _scans(*MAJOR))  # fmt: skip
        self.step(lot, "dispense-minor", consume=_scans(*MINOR))

    def to_qc(self, lot: str) -> CompleteResult:
        self.weigh_up(lot)
        self.tags.set("kettle2.product_temp", 21.0)
        self.step(lot, "charge", {"water_added": 100.2})
        self.tags.set("kettle2.product_temp", 90.4)
        self.tags.set("kettle2.hold_time", 15.4)
        self.tags.set("kettle2.hold_min_temp", 88.7)
        self.step(lot, "cook", {"probe_temp": 90.1})
        return self.step(lot, "qc", QC_DATA)

    def left(self, part: str) -> float:
        with self.engine.db.session() as session:
            return materials.find_lot(session, part, STOCK[part][0]).quantity


@pytest.fixture
def kitchen(db: Database, password_hash: str) -> Kitchen:
    versions.deploy(db, BRIGHTWATER, actor="admin")
    _, plant = versions.active_plant(db)
    day = NOW.date()
    with db.transaction() as session:
        for name, role in (("priya", "operator"), ("sam", "supervisor")):
            people.create_user(session, name, actor="setup")
            people.grant_role(session, name, role, actor="setup", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(
                session, "priya", qualification, actor="setup", plant=plant,
                granted_on=day - dt.timedelta(days=30),
            )  # fmt: skip
        session.execute(update(User).values(password_hash=password_hash))
        for part, (number, quantity) in STOCK.items():
            materials.receive_lot(
                session, plant, part, number, quantity, actor="setup",
                received_on=day - dt.timedelta(days=1), expires_on=dt.date(2030, 1, 1),
            )  # fmt: skip
    tags = StaticTagSource(TAGS, clock=lambda: NOW)
    return Kitchen(Ferrule(db, tags, RecordingSetpointWriter(), clock=lambda: NOW), tags)


def test_a_work_order_makes_one_lot_of_its_whole_quantity(kitchen: Kitchen) -> None:
    lot = kitchen.release(500.0)
    assert lot == "K2261103-001"
    view = kitchen.engine.item(lot)
    assert (view.kind, view.quantity) == ("lot", 500.0)


def test_a_lot_draws_the_bom_quantity_times_its_quantity(kitchen: Kitchen) -> None:
    lot = kitchen.release(500.0)
    kitchen.weigh_up(lot)
    drawn = {part: STOCK[part][1] - kitchen.left(part) for part in (*MAJOR, *MINOR)}
    assert drawn == {
        "TOM-DICED": 260.0, "TOM-PASTE-28": 95.0, "ONION-DICED": 25.0, "OIL-OLIVE": 9.0,
        "GARLIC-PUREE": 4.0, "SUGAR-GRAN": 6.0, "SALT-PDV": 4.5, "BASIL-DRIED": 1.0,
        "CITRIC-ACID": 0.75,
    }  # fmt: skip
    small = kitchen.release(250.0)
    kitchen.engine.start_operation(actor="priya", item=small, operation="dispense-major")
    kitchen.engine.complete_operation(
        actor="priya", item=small, operation="dispense-major",
        data={"line_clearance": True, "onion_temp": -18.5},
        consume=[ConsumptionInput("TOM-DICED", "TD-1", 131.0), *_scans(*MAJOR[1:])],
    )  # fmt: skip
    assert kitchen.left("TOM-DICED") == 5000.0 - 260.0 - 131.0


def test_a_weighed_quantity_is_checked_against_the_whole_lot(kitchen: Kitchen) -> None:
    lot = kitchen.release(500.0)
    kitchen.engine.start_operation(actor="priya", item=lot, operation="dispense-major")
    data = {"line_clearance": True, "onion_temp": -18.5}
    with pytest.raises(Invalid) as off:
        kitchen.engine.complete_operation(
            actor="priya", item=lot, operation="dispense-major", data=data,
            consume=[ConsumptionInput("TOM-DICED", "TD-1", 263.1), *_scans(*MAJOR[1:])],
        )  # fmt: skip
    assert off.value.message == (
        "TOM-DICED: 263.1 kg taken, but 'dispense-major' consumes 260 kg ± 1 %; correct the "
        "quantity."
    )
    with pytest.raises(Invalid) as missing:
        kitchen.engine.complete_operation(
            actor="priya", item=lot, operation="dispense-major", data=data,
            consume=_scans(*MAJOR[1:]),
        )  # fmt: skip
    assert missing.value.message == (
        "'dispense-major' consumes 260 kg of TOM-DICED; scan a lot of TOM-DICED."
    )
    oil = ConsumptionInput("OIL-OLIVE", "OO-1")
    planned = kitchen.engine.check_component(item=lot, scanned=oil)
    assert (planned.quantity, planned.unit) == (9.0, "kg")


def test_every_n_samples_every_nth_lot_of_the_product(kitchen: Kitchen) -> None:
    """'salt by titration' samples every 5th batch: lots 1, 6, 11… of SAUCE-TB, whatever their
    work orders."""
    lots = [kitchen.release(500.0) for _ in range(6)]
    verdicts = {}
    for index in (1, 2, 6):
        result = kitchen.to_qc(lots[index - 1])
        verdicts[index] = next(g for g in result.gates if g.gate == "salt by titration").outcome
    assert verdicts == {1: "pass", 2: "skipped", 6: "pass"}
