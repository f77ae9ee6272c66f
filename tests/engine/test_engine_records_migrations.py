"""Migrations: `ferrule db upgrade` builds exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine import migrations
from engine.commands import versions
from engine.infra.db import Database, load_models
from engine.records.base import Base

ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


def test_the_migrated_schema_matches_the_models(empty_db: Database) -> None:
    assert migrations.current(empty_db) is None
    assert migrations.upgrade(empty_db) == migrations.head() == "0001"
    load_models()
    with empty_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_twice_changes_nothing_and_the_schema_works(empty_db: Database) -> None:
    migrations.upgrade(empty_db)
    assert migrations.upgrade(empty_db) == "0001"
    deployed = versions.deploy(empty_db, ACME, actor="ada").version
    assert deployed.id == 1
