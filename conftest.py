"""Fixtures every test area shares (kept at the repository root so that tests/ itself never goes
on sys.path, where tests/web would shadow the web package): a database over SQLite and PostgreSQL,
the demo plant.

PostgreSQL is a throwaway server (tests/infra/postgres.py) started once per test process; each test
gets a fresh database copied from a template that already has the schema. Without PostgreSQL
installed the PostgreSQL half is skipped, or fails when the environment variable CI is set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests" / "infra"))

from postgres import PostgresServer, find_bindir  # noqa: E402
from testdata import ACME, PASSWORD  # noqa: E402

from dsl.model import Plant  # noqa: E402
from engine.commands import versions  # noqa: E402
from engine.infra.db import Database  # noqa: E402

TEMPLATE = "ferrule_template"


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


def _database(
    request: pytest.FixtureRequest, tmp_path: Path, *, tables: bool
) -> Iterator[Database]:
    if request.param == "sqlite":
        filename = "ferrule.db" if tables else "empty.db"
        database = Database.from_url(f"sqlite:///{tmp_path / filename}")
        if tables:
            database.create_all()
        yield database
        database.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database(template=TEMPLATE if tables else None)
    database = Database.from_url(server.url(name))
    yield database
    database.dispose()
    server.drop_database(name)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty Ferrule database with every table, on SQLite (a temp file) or PostgreSQL."""
    yield from _database(request, tmp_path, tables=True)


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database without any table (for migrations and the CLI), on SQLite or PostgreSQL."""
    yield from _database(request, tmp_path, tables=False)


@pytest.fixture
def plant(db: Database) -> Plant:
    """The acme-harness plant, deployed as the active version."""
    versions.deploy(db, ACME, actor="admin", note="test fixture")
    return versions.active_plant(db)[1]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed once (argon2 is slow on purpose)."""
    return PasswordHasher().hash(PASSWORD)
