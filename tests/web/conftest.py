"""Fixtures for the web tests: a database over SQLite and PostgreSQL, the app, users, clients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from web_support import USERS, Api

from dsl.model import Plant
from engine.access import people
from engine.commands.materials import receive_lot
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User
from web.app import create_app
from web.settings import Settings


@pytest.fixture
def users(db: Database, password_hash: str) -> dict[str, tuple[str, ...]]:
    """The users of :data:`USERS`, all with the password :data:`PASSWORD`."""
    with db.transaction() as session:
        for username, roles in USERS.items():
            people.create_user(session, username, actor="test", full_name=username.title())
            for role in roles:
                people.grant_role(session, username, role, actor="test")
        session.execute(update(User).values(password_hash=password_hash))
    return USERS


@pytest.fixture
def shop(db: Database, plant: Plant, users: dict[str, tuple[str, ...]]) -> Plant:
    """The deployed acme-harness with qualified operators and material in stock."""
    with db.transaction() as session:
        for operator in ("anna", "omar"):
            for qualification in plant.qualifications:
                people.grant_qualification(
                    session, operator, qualification, actor="test", plant=plant
                )
        for part, lot, quantity in (
            ("WIRE-18-RD", "W-001", 100.0),
            ("TERM-22", "T-001", 1000.0),
            ("HOUSING-4P", "H-001", 50.0),
        ):
            receive_lot(session, plant, part, lot, quantity, actor="test")
    return plant


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url="unused: the db fixture is passed in",
        secret_key="test-secret-of-at-least-thirty-two-bytes",
        secure_cookies=False,
        session_timeout=dt.timedelta(minutes=30),
        tag_cache=tmp_path / "tags.mmap",
    )


# the acme-harness devices in a good state: every interlock passes, every gate passes
GOOD_TAGS: dict[str, float | bool | str] = {
    "press1.pressure": 70.0,
    "press1.fault": False,
    "press1.strokes": 1200.0,
    "press1.target_force": 1200.0,
    "tester.ready": True,
    "tester.resistance": 2.4,
    "tester.insulation": 500.0,
}


@pytest.fixture
def tags() -> StaticTagSource:
    return StaticTagSource(GOOD_TAGS)


@pytest.fixture
def setpoints() -> RecordingSetpointWriter:
    return RecordingSetpointWriter()


@pytest.fixture
def app(
    settings: Settings, db: Database, tags: StaticTagSource, setpoints: RecordingSetpointWriter
) -> Flask:
    app = create_app(settings, db=db, tags=tags, setpoints=setpoints)
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(app: Flask, db: Database) -> Api:
    return Api(app, db)


# ---------------------------------------------------------------- page and browser tests
from browser_support import (  # noqa: E402, F401
    browser,
    live_url,
    pytest_runtest_makereport,
    tab,
)
from pages_support import line_app, line_client, line_tags, stocked  # noqa: E402, F401
