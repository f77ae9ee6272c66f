"""Schema migrations (Alembic), run by ``ferrule db upgrade``. May import engine.records and
engine.infra (for the database).

There is one migration so far, the initial schema; regenerate it while the schema is still young
with ``python -m engine.migrations.regenerate`` after changing a table module.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.infra.db import Database

HERE = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """Alembic's configuration, pointing at this package wherever it is installed."""
    config = Config(str(HERE.parent / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    return config


def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the database's schema up to ``revision``; returns the revision it is at afterwards."""
    config = alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
    return current(db)


def current(db: Database) -> str | None:
    """The schema revision the database is at (None for a database never migrated)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision this Ferrule knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
