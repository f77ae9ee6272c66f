"""An operation's AQL lot gate (``sample: {aql, level}`` on an operation): northfield-machining
accepts each HM-4420 work order's lot at final inspection by AQL 0.65, level II. The plan comes
from the order's quantity; a rejected lot puts the order's units on hold with the reason; the
product's stream at that operation switches on its own."""

from __future__ import annotations

import datetime as dt

import pytest
from material_support import assert_trail_intact
from sqlalchemy import select, update
from testdata import ACME

from engine.access import people
from engine.commands import versions
from engine.errors import Invalid
from engine.facade.inspection import Inspection
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.production import Item
from engine.records.tables import User

NORTHFIELD = ACME.parent / "northfield-machining"
NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def desk(db: Database, password_hash: str) -> Inspection:
    """The inspection facade on northfield-machining, with quinn (quality) and sam."""
    versions.deploy(db, NORTHFIELD, actor="admin", note="lot gate")
    plant = versions.active_plant(db)[1]
    with db.transaction() as session:
        for username, role in (("quinn", "quality"), ("sam", "supervisor")):
            people.create_user(session, username, actor="setup")
            people.grant_role(session, username, role, actor="setup", plant=plant)
        session.execute(update(User).values(password_hash=password_hash))
    return Inspection(db, StaticTagSource({}), clock=lambda: NOW)


def _order(desk: Inspection, quantity: int) -> str:
    order = desk.create_work_order(actor="sam", product="HM-4420", quantity=quantity)
    desk.release_work_order(actor="sam", number=order.number)
    return order.number


def test_a_rejected_work_order_lot_puts_its_units_on_hold(db: Database, desk: Inspection) -> None:
    number = _order(desk, 30)
    started = desk.start_operation_inspection(actor="quinn", work_order=number, operation="final")
    assert started.plan == "normal, level II, AQL 0.65, code D → F: n = 20, Ac 0, Re 1"
    assert (started.part, started.operation, started.lot, started.lot_size) == (
        "HM-4420", "final", number, 30,
    )  # fmt: skip
    desk.record_sample(actor="quinn", inspection_id=started.id, conforming=True)
    rejected = desk.record_sample(
        actor="quinn", inspection_id=started.id, conforming=False, defect_code="SCRATCH"
    )
    assert (rejected.accepted, rejected.inspected) == (False, 2)
    with db.session() as session:
        statuses = set(session.scalars(select(Item.status).where(Item.product == "HM-4420")))
    assert statuses == {"on_hold"}
    state = desk.switching_state(part="HM-4420", operation="final")
    assert (state.severity, state.lots, state.recent) == ("normal", 1, (False,))
    assert desk.switching_state(part="HM-4420").lots == 0  # receiving is another stream
    assert_trail_intact(db)


def test_an_accepted_work_order_lot_leaves_its_units_as_they_are(
    db: Database, desk: Inspection
) -> None:
    number = _order(desk, 30)
    started = desk.start_operation_inspection(actor="quinn", work_order=number, operation="final")
    for _ in range(20):
        accepted = desk.record_sample(actor="quinn", inspection_id=started.id, conforming=True)
    assert (accepted.accepted, accepted.inspected, accepted.defects) == (True, 20, 0)
    with db.session() as session:
        statuses = set(session.scalars(select(Item.status).where(Item.product == "HM-4420")))
    assert "on_hold" not in statuses
    assert_trail_intact(db)


def test_an_operation_without_a_lot_gate_is_refused_with_the_fix(desk: Inspection) -> None:
    number = _order(desk, 30)
    with pytest.raises(Invalid) as no_gate:
        desk.start_operation_inspection(actor="quinn", work_order=number, operation="gauge")
    assert no_gate.value.message == (
        "Operation 'gauge' of routing 'hm-4420' has no AQL lot gate; add sample: {aql: 1.0, "
        "level: II} to it."
    )
    with pytest.raises(Invalid) as unknown:
        desk.start_operation_inspection(actor="quinn", work_order=number, operation="paint")
    assert unknown.value.message == (
        f"Work order '{number}' has no operation 'paint'; use one of load, rough, finish, gauge, "
        "cmm, deburr-wash, final."
    )
