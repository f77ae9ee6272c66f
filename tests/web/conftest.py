"""Fixtures for the web tests: a database over SQLite and PostgreSQL, the app, users, clients."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import update

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "infra"))

from postgres import PostgresServer, find_bindir  # noqa: E402

import engine.access  # noqa: E402  (registers the access tables before create_all)
from dsl.model import Plant  # noqa: E402
from engine import people, versions  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.materials import receive_lot  # noqa: E402
from engine.tables import User  # noqa: E402
from engine.tagsource import RecordingSetpointWriter, StaticTagSource  # noqa: E402
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
        secret_key="test-secret",
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


# ---------------------------------------------------------------- API calls checked against OpenAPI


class Api:
    """Calls the API as a user (through an API token of all their roles) and checks every answer
    against the OpenAPI document: the status is documented and the body matches its schema."""

    def __init__(self, app: Flask, db: Database) -> None:
        self.app = app
        self.client = app.test_client()
        self.db = db
        self.secrets: dict[str, str] = {}
        self.document = self.client.get("/api/openapi.json").json
        assert self.document is not None

    def token(self, username: str) -> str:
        if username not in self.secrets:
            with self.db.transaction() as session:
                roles = tuple(people.roles_of(session, username))
                _, secret = engine.access.create_token(
                    session, name="tests", username=username, roles=roles, created_by="test"
                )
            self.secrets[username] = secret
        return self.secrets[username]

    def call(
        self,
        method: str,
        path: str,
        user: str | None,
        json: object = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        response = self.client.open(path, method=method, json=json, headers=sent)
        check_against_openapi(self.app, self.document, method, path, response)
        return response

    def get(self, path: str, user: str | None) -> Any:
        return self.call("GET", path, user)

    def post(self, path: str, user: str | None, json: object = None, **kw: Any) -> Any:
        return self.call("POST", path, user, json=json, **kw)


def check_against_openapi(
    app: Flask, document: dict[str, Any], method: str, path: str, response: Any
) -> None:
    """Assert the response's status is documented for the route and its body fits the schema."""
    rule, _ = app.url_map.bind("localhost").match(
        path.split("?", maxsplit=1)[0], method=method, return_rule=True
    )
    openapi_path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
    operation = document["paths"][openapi_path][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (
        f"{method} {openapi_path} answered {response.status_code}, which is not documented: "
        f"{response.get_data(as_text=True)}"
    )
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    resolvable = _local_refs({**schema, "$defs": document["components"]["schemas"]})
    errors = list(Draft202012Validator(resolvable).iter_errors(response.json))
    assert not errors, f"{method} {openapi_path} {response.status_code}: {errors[0].message}"


def _local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI component references rewritten to local ``$defs`` for jsonschema."""
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    result: dict[str, Any] = json.loads(text)
    return result


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
