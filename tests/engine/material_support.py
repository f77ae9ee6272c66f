"""Shared helpers for the material tests: the materials facade at a fixed instant, a goods-in
clerk, and the acme-harness plant redeployed with other inventory settings.

Import into a test module with ``from material_support import NOW, clerk, stores, ...``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from dsl.model import Plant
from engine.access import people
from engine.commands import versions
from engine.commands.lots import Receipt
from engine.commands.materials import LotInfo
from engine.facade.audit import AuditTrail
from engine.facade.materials import Materials
from engine.infra.db import Database
from engine.records.tables import User

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CLERK = "gina"


@pytest.fixture
def clerk(db: Database, plant: Plant, users: object, password_hash: str) -> str:
    """A goods-in clerk (role ``stores``) with the demo password."""
    with db.transaction() as session:
        people.create_user(session, CLERK, actor="setup", full_name="Gina Goods-In")
        people.grant_role(session, CLERK, "stores", actor="setup", plant=plant)
        session.execute(
            update(User).where(User.username == CLERK).values(password_hash=password_hash)
        )
    return CLERK


@pytest.fixture
def stores(db: Database, clerk: str) -> Materials:
    """The materials facade, its clock at :data:`NOW`."""
    return Materials(db, clock=lambda: NOW)


def receive(
    stores: Materials, part: str, supplier_lot: str, quantity: float, **kwargs: object
) -> LotInfo:
    """Book ``quantity`` of ``part`` in as lot ``supplier_lot`` by the clerk."""
    receipt = Receipt(part=part, supplier_lot=supplier_lot, quantity=quantity, **kwargs)  # type: ignore[arg-type]
    return stores.receive(actor=CLERK, receipt=receipt)


def redeploy(db: Database, plant: Plant, old: str, new: str) -> Plant:
    """Deploy acme-harness again with ``old`` replaced by ``new`` in its site.yaml."""
    site = plant.files["site.yaml"]
    assert old in site
    files = {**plant.files, "site.yaml": site.replace(old, new)}
    versions.deploy(db, files, actor="admin", note="inventory settings")
    return versions.active_plant(db)[1]


def assert_trail_intact(db: Database) -> None:
    """The audit chain and every seal verify."""
    verdict = AuditTrail(db).verify()
    assert verdict.ok, verdict
