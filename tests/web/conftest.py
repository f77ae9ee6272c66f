"""Fixtures for the web tests: a database over SQLite and PostgreSQL, the app, users, clients."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "infra"))

from postgres import PostgresServer, find_bindir  # noqa: E402

import engine.access  # noqa: E402, F401  (registers the access tables before create_all)
from dsl.model import Plant  # noqa: E402
from engine import people, versions  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.tables import User  # noqa: E402
from engine.tagsource import StaticTagSource  # noqa: E402
from web.app import create_app  # noqa: E402
from web.settings import Settings  # noqa: E402

ACME = REPO / "plants" / "acme-harness"
TEMPLATE = "ferrule_web_template"

PASSWORD = "correct horse battery"
# username → roles; every role once, plus a user with two roles and one with none
USERS: dict[str, tuple[str, ...]] = {
    "anna": ("operator",),
    "sam": ("supervisor",),
    "quinn": ("quality",),
    "eve": ("engineer",),
    "ada": ("admin",),
    "omar": ("operator", "supervisor"),
    "nobody": (),
}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process, with a template database holding the schema."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (run tests/infra/system-deps.sh as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir)
    server.start()
    try:
        server.create_database_named(TEMPLATE)
        template = Database.from_url(server.url(TEMPLATE))
        template.create_all()
        template.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty Ferrule database with every table, on each backend."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'ferrule.db'}")
        database.create_all()
        yield database
        database.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database(template=TEMPLATE)
    database = Database.from_url(server.url(name))
    yield database
    database.dispose()
    server.drop_database(name)


@pytest.fixture
def plant(db: Database) -> Plant:
    """The acme-harness plant, deployed as the active version."""
    versions.deploy(db, ACME, actor="ada", note="test fixture")
    return versions.active_plant(db)[1]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed once (argon2 is slow on purpose)."""
    return PasswordHasher().hash(PASSWORD)


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
def settings(tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url="unused: the db fixture is passed in",
        secret_key="test-secret",
        session_timeout=dt.timedelta(minutes=30),
        tag_cache=tmp_path / "tags.mmap",
    )


@pytest.fixture
def tags() -> StaticTagSource:
    return StaticTagSource({})


@pytest.fixture
def app(settings: Settings, db: Database, tags: StaticTagSource) -> Flask:
    app = create_app(settings, db=db, tags=tags)
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (loads the sign-in form to get one)."""
    page = client.get("/signin").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token for later unsafe requests."""
    response = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client)
