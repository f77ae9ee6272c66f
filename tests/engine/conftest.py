"""Engine test fixtures: ``db`` over SQLite and PostgreSQL, the deployed demo plant, demo users.

PostgreSQL is a throwaway server (tests/infra/postgres.py) started once per test process; each test
gets a fresh database copied from a template that already has the schema. Without PostgreSQL
installed the PostgreSQL half is skipped, or fails when the environment variable CI is set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "infra"))

from postgres import PostgresServer, find_bindir  # noqa: E402

from dsl.model import Plant  # noqa: E402
from engine import people, versions  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.tables import User  # noqa: E402

ACME = REPO / "plants" / "acme-harness"
TEMPLATE = "ferrule_template"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this test process, with a template database holding the schema."""
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
    """An empty Ferrule database with every table, on SQLite (a temp file) or PostgreSQL."""
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database without any table (for migrations and the CLI), on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    database = Database.from_url(server.url(name))
    yield database
    database.dispose()
    server.drop_database(name)


@pytest.fixture
def plant(db: Database) -> Plant:
    """The acme-harness plant, deployed as the active version."""
    versions.deploy(db, ACME, actor="admin", note="test fixture")
    return versions.active_plant(db)[1]


@dataclass(frozen=True)
class DemoUsers:
    """Usernames of the demo users by role; every one has the password ``PASSWORD``."""

    operator: str = "olga"
    supervisor: str = "sam"
    quality: str = "quinn"
    engineer: str = "erin"
    admin: str = "ada"
    password: str = PASSWORD


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed once (argon2 is slow on purpose)."""
    return PasswordHasher().hash(PASSWORD)


@pytest.fixture
def users(db: Database, plant: Plant, password_hash: str) -> DemoUsers:
    """Demo users with roles; the operator holds every qualification of the plant."""
    demo = DemoUsers()
    roles = {
        demo.operator: "operator",
        demo.supervisor: "supervisor",
        demo.quality: "quality",
        demo.engineer: "engineer",
        demo.admin: "admin",
    }
    with db.transaction() as session:
        for username, role in roles.items():
            people.create_user(session, username, actor="setup", full_name=username.title())
            people.grant_role(session, username, role, actor="setup", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(
                session, demo.operator, qualification, actor="setup", plant=plant
            )
        session.execute(update(User).values(password_hash=password_hash))
    return demo
