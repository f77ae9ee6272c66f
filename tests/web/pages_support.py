"""Fixtures for the page and browser tests: the acme-harness line deployed with stock, users
with their qualifications, and an app whose tag values the test controls.

tests/web/conftest.py imports the fixtures; test modules import the helpers.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dsl.model import Plant
from engine.access import people
from engine.commands import materials
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from web.app import create_app
from web.settings import Settings

OPERATORS = ("anna", "omar")  # the operators of web_support.USERS
GOOD_TAGS: dict[str, float | bool | str] = {
    "press1.pressure": 70.0,
    "press1.fault": False,
    "press1.strokes": 100.0,
    "press1.target_force": 1200.0,
    "tester.ready": True,
    "tester.resistance": 2.4,
    "tester.insulation": 500.0,
}
CUT_FORM = {"field-length": "500", "field-strip_length": "7", "consume-WIRE-18-RD-0": "W-001"}
CRIMP_FORM = {
    "field-pull_force": "80",
    "field-crimp_height": "1.55",
    "field-visual": "ok",
    "consume-TERM-22-0": "T-001",
}


@pytest.fixture
def line_tags() -> StaticTagSource:
    """Tag values that pass every interlock; tests change them with ``set``."""
    return StaticTagSource(GOOD_TAGS)


@pytest.fixture
def stocked(db: Database, plant: Plant, users: dict[str, tuple[str, ...]]) -> Plant:
    """The plant with lots W-001, T-001, H-001 and every operator qualified for everything."""
    with db.transaction() as session:
        materials.receive_lot(session, plant, "WIRE-18-RD", "W-001", 100.0, actor="setup")
        materials.receive_lot(session, plant, "TERM-22", "T-001", 1000.0, actor="setup")
        materials.receive_lot(session, plant, "HOUSING-4P", "H-001", 50.0, actor="setup")
        for username in OPERATORS:
            for qualification in plant.qualifications:
                people.grant_qualification(
                    session, username, qualification, actor="setup", plant=plant
                )
    return plant


@pytest.fixture
def line_app(settings: Settings, db: Database, stocked: Plant, line_tags: StaticTagSource) -> Flask:
    app = create_app(settings, db=db, tags=line_tags, setpoints=RecordingSetpointWriter())
    app.testing = True
    return app


@pytest.fixture
def line_client(line_app: Flask) -> FlaskClient:
    return line_app.test_client()


def release_unit(app: Flask, actor: str = "sam") -> str:
    """A released HA-100 unit's serial number."""
    ferrule = app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor=actor, product="HA-100", quantity=1)
    return str(ferrule.release_work_order(actor=actor, number=order.number).items[0])


def form_token(page: str, name: str) -> str:
    """The value of the hidden input ``name`` in an HTML page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in page"
    return found.group(1)
