"""The compiled hot-path statements (engine/infra/statements.py) on SQLite and PostgreSQL.

These pin what :class:`SqlAlchemyInternals` gets out of SQLAlchemy's internals: the SQL text and
parameter order of a select, an INSERT with RETURNING and an executemany INSERT, the bind
processors of datetime and JSON columns, and result rows typed as the ORM returns them. An
SQLAlchemy upgrade that changes any of it fails here, before a command runs wrong SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from psycopg.types.json import Json
from sqlalchemy import JSON, Column, Integer, String, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.infra.db import Database
from engine.infra.statements import Sql, SqlAlchemyInternals, Statement, insert_rows
from engine.records.base import UtcDateTime, utcnow


def changed(what: str) -> str:
    """The failure message: which internal behaved differently, and where it is used."""
    tested = ", ".join(SqlAlchemyInternals.TESTED_WITH)
    return (
        f"SQLAlchemy {sqlalchemy.__version__} {what} differently from {tested}: adapt "
        "SqlAlchemyInternals in engine/infra/statements.py, then the pin in pyproject.toml"
    )


class SampleBase(DeclarativeBase):
    """A metadata of the tests' own, so that the SQL text does not follow the app's schema."""

    type_annotation_map = {dt.datetime: UtcDateTime()}  # noqa: RUF012


class Sample(SampleBase):
    """A row with the column types whose values need processing: JSON and UTC timestamps."""

    __tablename__ = "statements_sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[dt.datetime]
    tries: Mapped[int] = mapped_column(default=1)


SAMPLE = SampleBase.metadata.tables["statements_sample"]

FIND = Statement(
    select(SAMPLE.c.id, SAMPLE.c.payload, SAMPLE.c.at)
    .where(SAMPLE.c.name == bindparam("name"))
    .limit(1)
)
INSERT_RETURNING_ID = insert_rows(SAMPLE, returning=SAMPLE.c.id)
INSERT_WITH_DEFAULT_TRIES = Statement(insert(SAMPLE), ["name", "payload", "at"])
ALL_ROWS = Statement(select(SAMPLE).order_by(SAMPLE.c.id))

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
PAYLOAD = {"bar": [1, 2.5], "ok": True, "note": "ü"}

PG_INSERT = (
    "INSERT INTO statements_sample (name, payload, at, tries) VALUES (%(name)s::VARCHAR, "
    "%(payload)s::JSON, %(at)s::TIMESTAMP WITH TIME ZONE, %(tries)s::INTEGER)"
)
SQL = {
    "sqlite": {
        "find": (
            "SELECT statements_sample.id, statements_sample.payload, statements_sample.at \n"
            "FROM statements_sample \n"
            "WHERE statements_sample.name = ?\n LIMIT ? OFFSET ?"
        ),
        "insert returning": (
            "INSERT INTO statements_sample (name, payload, at, tries) VALUES (?, ?, ?, ?) "
            "RETURNING id"
        ),
        "insert": "INSERT INTO statements_sample (name, payload, at, tries) VALUES (?, ?, ?, ?)",
    },
    "postgresql": {
        "find": (
            "SELECT statements_sample.id, statements_sample.payload, statements_sample.at \n"
            "FROM statements_sample \n"
            "WHERE statements_sample.name = %(name)s::VARCHAR \n LIMIT %(param_1)s::INTEGER"
        ),
        "insert returning": PG_INSERT + " RETURNING statements_sample.id",
        "insert": PG_INSERT,
    },
}
FIND_PARAMETERS = {
    "sqlite": (("name", "param_1", "param_2"), {"param_1": 1, "param_2": 0}),
    "postgresql": (("name", "param_1"), {"param_1": 1}),
}
SAMPLE_COLUMNS = ("name", "payload", "at", "tries")


@pytest.fixture
def sample_db(db: Database) -> Iterator[Database]:
    """``db`` (SQLite or PostgreSQL) with the sample table, connected once (so that its dialect
    knows the server, as it does when the hot path compiles)."""
    SampleBase.metadata.create_all(db.engine)
    yield db


def a_row(name: str, **changes: Any) -> dict[str, Any]:
    """Values for the columns of a sample row that have no default."""
    return {
        "name": name,
        "payload": PAYLOAD,
        "at": dt.datetime(2026, 1, 2, 5, 4, 5, 6, tzinfo=PLUS_TWO),
        **changes,
    }


def test_a_select_compiles_to_its_sql_and_parameter_order(sample_db: Database) -> None:
    dialect = sample_db.engine.dialect
    compiled = FIND.on(dialect)
    assert compiled.sql == SQL[dialect.name]["find"], changed("renders a SELECT")
    assert compiled.positional is (dialect.name == "sqlite"), changed("chooses a paramstyle")
    assert (compiled.names, compiled.defaults) == FIND_PARAMETERS[dialect.name], changed(
        "names, orders or fills the parameters of a SELECT (positiontup, bind_names)"
    )
    assert compiled.binders == (), changed("processes a VARCHAR or INTEGER parameter")
    assert compiled.params({"name": "press"}) == (
        ["press", 1, 0] if compiled.positional else {"name": "press", "param_1": 1}
    )


def test_an_insert_with_returning_compiles_to_its_sql(sample_db: Database) -> None:
    dialect = sample_db.engine.dialect
    compiled = INSERT_RETURNING_ID.on(dialect)
    assert compiled.sql == SQL[dialect.name]["insert returning"], changed("renders RETURNING")
    assert compiled.names == SAMPLE_COLUMNS, changed("orders the columns of an INSERT")
    assert compiled.defaults == {}
    assert [type(kind) for kind in compiled.result_types] == [Integer], changed(
        "describes the RETURNING columns (returning_column_descriptions)"
    )


def test_an_insert_without_returning_returns_nothing_and_fills_constant_defaults(
    sample_db: Database,
) -> None:
    dialect = sample_db.engine.dialect
    compiled = INSERT_WITH_DEFAULT_TRIES.on(dialect)
    assert compiled.sql == SQL[dialect.name]["insert"], changed(
        "renders an INSERT without RETURNING (Insert.inline, implicit returning)"
    )
    assert compiled.names == SAMPLE_COLUMNS, changed("adds the columns that have a default")
    assert compiled.defaults == {"tries": 1}, changed("binds a column's constant default")
    assert compiled.result_types == ()


def test_datetime_and_json_parameters_are_bound_as_the_driver_takes_them(
    sample_db: Database,
) -> None:
    dialect = sample_db.engine.dialect
    compiled = INSERT_RETURNING_ID.on(dialect)
    assert [index for index, _ in compiled.binders] == [1, 2], changed(
        "has bind processors (dialect_impl().bind_processor) for other columns than JSON and "
        "the UTC timestamp"
    )
    params = compiled.params(a_row("press", tries=3))
    if dialect.name == "sqlite":
        assert params == [
            "press",
            '{"bar": [1, 2.5], "ok": true, "note": "\\u00fc"}',
            "2026-01-02 03:04:05.000006",
            3,
        ], changed("binds JSON or DATETIME for SQLite")
    else:
        assert isinstance(params, dict)
        payload = params.pop("payload")
        assert isinstance(payload, Json), changed("binds JSON for psycopg")
        assert payload.obj == PAYLOAD
        assert params == {
            "name": "press",
            "at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
            "tries": 3,
        }, changed("binds TIMESTAMP WITH TIME ZONE for psycopg")
    with pytest.raises(ValueError, match="timestamps must be timezone-aware"):
        compiled.params(a_row("press", tries=3, at=dt.datetime(2026, 1, 2, 3, 4, 5)))


def test_rows_written_and_read_on_the_cursor_are_those_of_the_orm(sample_db: Database) -> None:
    with sample_db.transaction() as session:
        sql = Sql(session)
        first_id = sql.scalar(INSERT_RETURNING_ID, a_row("press", tries=3))
        sql.executemany(
            INSERT_WITH_DEFAULT_TRIES,
            [a_row("scale", payload={}), a_row("oven", payload={"t": [None]})],
        )
        found = sql.first(FIND, {"name": "press"})
        read = sql.all(ALL_ROWS)
    with sample_db.session() as session:
        orm = [
            (s.id, s.name, s.payload, s.at, s.tries)
            for s in session.scalars(select(Sample).order_by(Sample.id))
        ]
    assert read == orm, changed("processes result values (dialect_impl().result_processor)")
    assert [(name, tries) for _, name, _, _, tries in read] == [
        ("press", 3),
        ("scale", 1),
        ("oven", 1),
    ]
    assert found == (first_id, PAYLOAD, dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    for _, _, payload, at, _ in read:
        assert type(payload) is dict
        assert at.tzinfo is dt.UTC
    readers = [index for index, _ in ALL_ROWS.on(sample_db.engine.dialect).readers or ()]
    # psycopg decodes JSON itself; SQLite returns it, and timestamps, as text
    expected = {"sqlite": [2, 3], "postgresql": [3]}[sample_db.engine.dialect.name]
    assert readers == expected, changed("has result processors for other columns")


def test_driver_errors_are_wrapped_as_session_execute_wraps_them(sample_db: Database) -> None:
    statement = Statement(insert(SAMPLE), ["id", *SAMPLE_COLUMNS])
    with sample_db.engine.connect() as connection:
        sql = Sql(connection)
        sql.execute(statement, {"id": 1, **a_row("press", tries=1)})
        with pytest.raises(IntegrityError) as raised:
            sql.execute(statement, {"id": 1, **a_row("again", tries=1)})
        connection.rollback()
    error = raised.value
    assert error.statement == statement.on(sample_db.engine.dialect).sql
    assert isinstance(error.orig, sample_db.engine.dialect.loaded_dbapi.IntegrityError), changed(
        "wraps driver errors (DBAPIError.instance)"
    )


def test_a_column_default_is_used_only_when_it_is_a_constant() -> None:
    assert SqlAlchemyInternals.constant_default(Column("n", Integer, default=7)) == 7
    assert SqlAlchemyInternals.constant_default(Column("n", Integer)) is None
    with pytest.raises(TypeError, match="give 'at' explicitly: its default is computed"):
        SqlAlchemyInternals.constant_default(Column("at", UtcDateTime(), default=utcnow))
