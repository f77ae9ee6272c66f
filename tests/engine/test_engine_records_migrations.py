"""Migrations: `ferrule db upgrade` builds exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine import migrations, versions
from engine.base import Base
from engine.db import Database, load_models

ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    server: Any = request.getfixturevalue("postgres_server")
    name = server.create_database()
    database = Database.from_url(server.url(name))
    yield database
    database.dispose()
    server.drop_database(name)


def test_the_migrated_schema_matches_the_models(empty: Database) -> None:
    assert migrations.current(empty) is None
    assert migrations.upgrade(empty) == migrations.head() == "0001"
    load_models()
    with empty.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_twice_changes_nothing_and_the_schema_works(empty: Database) -> None:
    migrations.upgrade(empty)
    assert migrations.upgrade(empty) == "0001"
    deployed = versions.deploy(empty, ACME, actor="ada").version
    assert deployed.id == 1
