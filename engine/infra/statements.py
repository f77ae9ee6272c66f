"""Hot-path SQL: Core statements compiled once per dialect and run on the DBAPI cursor.

The tables stay defined in one place (the models). A :class:`Statement` wraps a Core statement
(and, for an INSERT or UPDATE, the columns it sets) and compiles it the first time it runs on a
dialect. :class:`Sql` runs statements on the DBAPI connection of a session's transaction, with
each column type's bind and result processing done as SQLAlchemy would, but without building,
caching-key and compiling the statement again for every row: that overhead is most of the time
of a completion on SQLite. Driver errors are wrapped in :class:`sqlalchemy.exc.DBAPIError`, so
``Database.transaction`` maps lock and unique-key conflicts exactly as for ``session.execute``.

Everything below SQLAlchemy's public API goes through :class:`SqlAlchemyInternals`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, ColumnDefault, ColumnElement, Table, bindparam, insert, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from engine.infra import seals

Processor = Callable[[Any], Any]
_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class CompiledSql:
    """A statement's SQL text for one dialect, and the parameters it takes: each one's rendered
    name and its bind, in the order a positional DBAPI takes them."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, BindParameter[Any]], ...]


class SqlAlchemyInternals:
    """The one place that reaches below SQLAlchemy's public API: the compiler's bind names and
    their order, the dialect-level bind and result processors of a type, the columns a DML
    statement returns, a column's constant default, and wrapping a driver error.

    Tested with the SQLAlchemy versions in ``TESTED_WITH`` (pyproject.toml allows
    ``>=2.0.30,<2.2``). tests/engine/test_engine_infra_statements.py pins what each method gives
    on SQLite and PostgreSQL, so an upgrade that changes these internals fails there, naming what
    changed.
    """

    TESTED_WITH = ("2.0.30", "2.0.58", "2.1.0", "2.1.9")

    @staticmethod
    def compile(statement: ClauseElement, dialect: Dialect, columns: Sequence[str]) -> CompiledSql:
        """Compile ``statement`` for ``dialect``; an INSERT or UPDATE sets exactly ``columns``
        (plus those with a default). An INSERT returns only what its RETURNING names: without
        one it is compiled inline, so PostgreSQL gets no implicit ``RETURNING id`` to discard."""
        if isinstance(statement, Insert):
            statement = statement.inline()
        compiled = statement.compile(dialect=dialect, column_keys=list(columns) or None)
        assert isinstance(compiled, SQLCompiler)
        # bind_names maps every bind to the name rendered in the SQL; compiled.binds also holds
        # anonymous binds under their unrendered "%(id param)s" keys, so it is not the name list.
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        order = compiled.positiontup if compiled.positional else by_name
        return CompiledSql(
            sql=compiled.string,
            positional=compiled.positional,
            binds=tuple((name, by_name[name]) for name in order or ()),
        )

    @staticmethod
    def bind_processor(kind: TypeEngine[Any], dialect: Dialect) -> Processor | None:
        """What turns a Python value of ``kind`` into the driver's (None: passed as it is)."""
        return kind.dialect_impl(dialect).bind_processor(dialect)

    @staticmethod
    def result_processor(
        kind: TypeEngine[Any], dialect: Dialect, type_code: Any
    ) -> Processor | None:
        """What turns the driver's value of a ``kind`` column (described by the cursor as
        ``type_code``) into the Python value the ORM gives (None: used as it is)."""
        return kind.dialect_impl(dialect).result_processor(dialect, type_code)

    @staticmethod
    def returned_columns(statement: Insert | Update) -> list[ColumnElement[Any]]:
        """The columns an INSERT's or UPDATE's RETURNING gives back (none without one)."""
        return [d["expr"] for d in statement.returning_column_descriptions]

    @staticmethod
    def constant_default(column: Column[Any]) -> Any:
        """The value ``column`` gets when an INSERT leaves it out (None: no default); raises
        TypeError for a default computed by a function or SQL expression."""
        default = column.default
        if default is None:
            return None
        if not isinstance(default, ColumnDefault) or not default.is_scalar:
            raise TypeError(
                f"give '{column.key}' explicitly: its default is computed, not a constant"
            )
        return default.arg

    @staticmethod
    def driver_error(sql: str, params: Any, error: Exception, dialect: Dialect) -> DBAPIError:
        """``error`` raised by the driver, wrapped as ``session.execute`` would wrap it."""
        wrapped = DBAPIError.instance(
            sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect
        )
        assert isinstance(wrapped, DBAPIError)
        return wrapped


@dataclass(slots=True)
class Compiled:
    """A statement's SQL for one dialect, with how to bind parameters and read result rows.

    ``binders`` and ``readers`` list only the positions whose type needs processing. The
    readers are found on the first result (some drivers need the column type codes the cursor
    describes)."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    defaults: dict[str, Any]  # values for the binds a caller may leave out
    binders: tuple[tuple[int, Processor], ...]
    dialect: Dialect
    result_types: tuple[TypeEngine[Any], ...]
    readers: tuple[tuple[int, Processor], ...] | None = None

    def params(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        """The DBAPI parameters for one row of ``values`` (by column or bind name)."""
        if self.defaults:
            values = {**self.defaults, **values}
        bound = [values[name] for name in self.names]
        for index, process in self.binders:
            value = bound[index]
            if value is not None:
                bound[index] = process(value)
        return bound if self.positional else dict(zip(self.names, bound, strict=True))

    def rows(self, raws: Sequence[Sequence[Any]], description: Any) -> list[tuple[Any, ...]]:
        """Result rows with each column's value as SQLAlchemy would return it."""
        readers = self.readers
        if readers is None:
            found = (
                SqlAlchemyInternals.result_processor(kind, self.dialect, column[1])
                for kind, column in zip(self.result_types, description, strict=False)
            )
            readers = self.readers = tuple(
                (index, read) for index, read in enumerate(found) if read is not None
            )
        if not readers:
            return [tuple(raw) for raw in raws]
        rows: list[tuple[Any, ...]] = []
        for raw in raws:
            row = list(raw)
            for index, read in readers:
                value = row[index]
                if value is not None:
                    row[index] = read(value)
            rows.append(tuple(row))
        return rows


class Statement:
    """A Core statement compiled once per dialect. ``columns`` are the columns an INSERT or
    UPDATE sets; a column it leaves out gets its scalar default (if it has one)."""

    def __init__(
        self, statement: ClauseElement, columns: Iterable[str] = (), *, sealed: Table | None = None
    ) -> None:
        self.statement = statement
        self.columns = tuple(columns)
        self.sealed = sealed  # the table whose inserted rows are sealed (see engine.infra.seals)
        self.keyed = seals.key_binds(statement)  # a sealed table's row it changes, by key binds
        self._compiled: WeakKeyDictionary[Dialect, Compiled] = WeakKeyDictionary()

    def on(self, dialect: Dialect) -> Compiled:
        """The statement compiled for ``dialect`` (compiled on first use)."""
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> Compiled:
        compiled = SqlAlchemyInternals.compile(self.statement, dialect, self.columns)
        defaults: dict[str, Any] = {}
        binders: list[tuple[int, Processor]] = []
        for index, (name, bind) in enumerate(compiled.binds):
            default = self._default(name, bind)
            if default is not _REQUIRED:
                defaults[name] = default
            process = SqlAlchemyInternals.bind_processor(bind.type, dialect)
            if process is not None:
                binders.append((index, process))
        return Compiled(
            sql=compiled.sql,
            positional=compiled.positional,
            names=tuple(name for name, _ in compiled.binds),
            defaults=defaults,
            binders=tuple(binders),
            dialect=dialect,
            result_types=tuple(column.type for column in self._result_columns()),
        )

    def _default(self, name: str, bind: BindParameter[Any]) -> Any:
        """``_REQUIRED`` for a value the caller must give, else the value used when it does not:
        a literal written in the statement (``LIMIT 1``), or a column's scalar default."""
        if bind.required or name in self.columns:
            return _REQUIRED
        if bind.value is not None:
            return bind.value
        if not isinstance(self.statement, Insert | Update):
            return None
        column = self.statement.table.c.get(name)
        return SqlAlchemyInternals.constant_default(column) if isinstance(column, Column) else None

    def _result_columns(self) -> list[ColumnElement[Any]]:
        """The columns a SELECT (or an INSERT/UPDATE's RETURNING) gives back."""
        if isinstance(self.statement, Select):
            return list(self.statement.selected_columns)
        if isinstance(self.statement, Insert | Update):
            return SqlAlchemyInternals.returned_columns(self.statement)
        return []


def insert_rows(table: Table, *, returning: ColumnElement[Any] | None = None) -> Statement:
    """An INSERT of every column of ``table`` but its generated key; each row gives them all."""
    statement = insert(table) if returning is None else insert(table).returning(returning)
    columns = [c.key for c in table.c if c is not table.autoincrement_column]
    return Statement(statement, columns, sealed=seals.sealed_table(table))


_by_key: dict[Table, Statement] = {}


def row_by_key(table: Table) -> Statement:
    """``SELECT * FROM table`` for one row, given each key column's value by its own name."""
    statement = _by_key.get(table)
    if statement is None:
        where = [c == bindparam(c.key) for c in table.primary_key.columns]
        statement = _by_key[table] = Statement(select(table).where(*where))
    return statement


class Sql:
    """Runs :class:`Statement` s on the DBAPI connection of a session's transaction (begun now
    if it was not; pending ORM changes are flushed first, as ``session.execute`` would), or of
    an engine connection without beginning one: for a single read, which the database then runs
    as a transaction of its own, without a BEGIN round trip."""

    def __init__(self, source: Session | Connection) -> None:
        self.info: dict[str, Any] | None = None  # the session's, where seals wait for audit
        self.session = source if isinstance(source, Session) else None
        if isinstance(source, Session):
            if source.autoflush:
                source.flush()
            connection = source.connection()
            self.info = source.info
        else:
            connection = source
        self.dialect = connection.dialect
        self.is_postgresql = self.dialect.name == "postgresql"
        self._cursor = connection.connection.cursor()
        self._error: type[Exception] = self.dialect.loaded_dbapi.Error

    @classmethod
    def of(cls, source: Session | Sql) -> Sql:
        """``source`` itself, or a new :class:`Sql` on the session's transaction."""
        return source if isinstance(source, Sql) else cls(source)

    def execute(self, statement: Statement, values: Mapping[str, Any] | None = None) -> int:
        """Run one statement; the number of rows it changed."""
        compiled = statement.on(self.dialect)
        self._run(compiled, compiled.params(values or {}))
        self._seal(statement, [values or {}])
        return int(self._cursor.rowcount)

    def executemany(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each of ``rows`` (nothing when there are none)."""
        if not rows:
            return
        compiled = statement.on(self.dialect)
        params: list[Any] = [compiled.params(row) for row in rows]
        try:
            self._cursor.executemany(compiled.sql, params)
        except self._error as error:
            raise SqlAlchemyInternals.driver_error(
                compiled.sql, params, error, self.dialect
            ) from error
        self._seal(statement, rows)

    def first(
        self, statement: Statement, values: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        """The first result row (None when there is none)."""
        compiled = statement.on(self.dialect)
        self._run(compiled, compiled.params(values or {}))
        self._seal(statement, [values or {}])
        rows = self._cursor.fetchall()  # all of them: a RETURNING completes when read to the end
        return compiled.rows(rows[:1], self._cursor.description)[0] if rows else None

    def all(
        self, statement: Statement, values: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every result row."""
        compiled = statement.on(self.dialect)
        self._run(compiled, compiled.params(values or {}))
        return compiled.rows(self._cursor.fetchall(), self._cursor.description)

    def scalar(self, statement: Statement, values: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.first(statement, values)
        return None if row is None else row[0]

    def _seal(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Note the sealed rows a statement wrote (see engine.infra.seals)."""
        if statement.sealed is None and statement.keyed is None:
            return
        if self.info is None:
            raise TypeError("rows of a sealed table must be written in a session")
        if statement.sealed is not None:
            seals.note(self.info, statement.sealed, rows)
        if statement.keyed is not None:
            table, binds = statement.keyed
            seals.touch(self.info, table, ([row[b] for b in binds] for row in rows))

    def _run(self, compiled: Compiled, params: Sequence[Any] | dict[str, Any]) -> None:
        try:
            self._cursor.execute(compiled.sql, params)
        except self._error as error:
            raise SqlAlchemyInternals.driver_error(
                compiled.sql, params, error, self.dialect
            ) from error
