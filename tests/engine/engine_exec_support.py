"""Shared fixtures for the execution tests: the engine on the acme-harness plant with stock,
tag values that pass every interlock, and helpers that walk a unit through its routing.

Import the fixtures into a test module with ``from engine_exec_support import line, ...``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from dsl.model import Plant
from engine.access.signatures import SignatureInput
from engine.commands import materials
from engine.commands.bom import ConsumptionInput
from engine.facade.production import Ferrule
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database

GOOD_TAGS: dict[str, float | bool | str] = {
    "press1.pressure": 70.0,
    "press1.fault": False,
    "press1.strokes": 100.0,
    "press1.target_force": 1200.0,
    "tester.ready": True,
    "tester.resistance": 2.4,
    "tester.insulation": 500.0,
}
CUT_DATA = {"length": 500.0, "strip_length": 7.0}
CRIMP_DATA = {"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"}


@dataclass
class Line:
    """The engine on a deployed acme-harness plant with demo users and stock."""

    engine: Ferrule
    tags: StaticTagSource
    plant: Plant
    operator: str
    supervisor: str
    quality: str
    password: str

    def release(self, quantity: int = 1) -> list[str]:
        """A released work order's unit numbers."""
        order = self.engine.create_work_order(
            actor=self.supervisor, product="HA-100", quantity=quantity
        )
        return list(
            self.engine.release_work_order(actor=self.supervisor, number=order.number).items
        )

    def cut(self, unit: str, **data: float) -> str:
        self.engine.start_operation(actor=self.operator, item=unit, operation="cut")
        result = self.engine.complete_operation(
            actor=self.operator,
            item=unit,
            operation="cut",
            data={**CUT_DATA, **data},
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )
        return result.route

    def crimp(self, unit: str, **data: float | str) -> str:
        self.engine.start_operation(actor=self.operator, item=unit, operation="crimp")
        result = self.engine.complete_operation(
            actor=self.operator,
            item=unit,
            operation="crimp",
            data={**CRIMP_DATA, **data},
            consume=[ConsumptionInput("TERM-22", "T-001")],
        )
        return result.route

    def signature(self, meaning: str = "Reviewed and approved") -> SignatureInput:
        return SignatureInput(self.quality, self.password, meaning)

    def test(self, unit: str) -> str:
        self.engine.start_operation(actor=self.operator, item=unit, operation="test")
        result = self.engine.complete_operation(
            actor=self.operator,
            item=unit,
            operation="test",
            consume=[ConsumptionInput("HOUSING-4P", "H-001")],
            signatures=[self.signature()],
        )
        return result.route


def receive_stock(db: Database, plant: Plant) -> None:
    """Lots W-001 (wire), T-001 (terminals), H-001 (housings)."""
    with db.transaction() as session:
        materials.receive_lot(session, plant, "WIRE-18-RD", "W-001", 100.0, actor="setup")
        materials.receive_lot(session, plant, "TERM-22", "T-001", 1000.0, actor="setup")
        materials.receive_lot(session, plant, "HOUSING-4P", "H-001", 50.0, actor="setup")


@pytest.fixture
def line(db: Database, plant: Plant, users: object) -> Line:
    """The acme-harness line ready to run."""
    receive_stock(db, plant)
    tags = StaticTagSource(GOOD_TAGS)

    engine = Ferrule(db, tags, RecordingSetpointWriter())
    return Line(
        engine,
        tags,
        plant,
        operator=users.operator,  # type: ignore[attr-defined]
        supervisor=users.supervisor,  # type: ignore[attr-defined]
        quality=users.quality,  # type: ignore[attr-defined]
        password=users.password,  # type: ignore[attr-defined]
    )


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
