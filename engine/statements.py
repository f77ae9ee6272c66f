"""Hot-path SQL: Core statements compiled once per dialect and run on the DBAPI cursor.

The tables stay defined in one place (the models). A :class:`Statement` wraps a Core statement
(and, for an INSERT or UPDATE, the columns it sets) and compiles it the first time it runs on a
dialect. :class:`Sql` runs statements on the DBAPI connection of a session's transaction, with
each column type's bind and result processing done as SQLAlchemy would, but without building,
caching-key and compiling the statement again for every row: that overhead is most of the time
of a completion on SQLite. Driver errors are wrapped in :class:`sqlalchemy.exc.DBAPIError`, so
``Database.transaction`` maps lock and unique-key conflicts exactly as for ``session.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]
_REQUIRED = object()


@dataclass(slots=True)
class Compiled:
    """A statement's SQL for one dialect, with how to bind parameters and read result rows.

    The result processors are found on the first result (some drivers' need the column type
    codes the cursor describes)."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, Processor | None, Any], ...]  # name, processor, default
    dialect: Dialect
    result_types: tuple[TypeEngine[Any], ...]
    readers: tuple[Processor | None, ...] | None = None

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The DBAPI parameters for one row of ``values`` (by column or bind name)."""
        bound: list[Any] = []
        for name, process, default in self.binds:
            value = values[name] if default is _REQUIRED else values.get(name, default)
            bound.append(value if process is None or value is None else process(value))
        if self.positional:
            return bound
        return {name: value for (name, _, _), value in zip(self.binds, bound, strict=True)}

    def rows(self, raws: Sequence[Sequence[Any]], description: Any) -> list[tuple[Any, ...]]:
        """Result rows with each column's value as SQLAlchemy would return it."""
        if not self.result_types:  # a textual statement: values as the driver gives them
            return [tuple(raw) for raw in raws]
        readers = self.readers
        if readers is None:
            readers = self.readers = tuple(
                kind.dialect_impl(self.dialect).result_processor(self.dialect, column[1])
                for kind, column in zip(self.result_types, description, strict=True)
            )
        return [
            tuple(
                value if read is None or value is None else read(value)
                for read, value in zip(readers, raw, strict=True)
            )
            for raw in raws
        ]


class Statement:
    """A Core statement compiled once per dialect. ``columns`` are the columns an INSERT or
    UPDATE sets; a column it leaves out gets its scalar default (if it has one)."""

    def __init__(self, statement: ClauseElement, columns: Iterable[str] = ()) -> None:
        self.statement = statement
        self.columns = tuple(columns)
        self._compiled: WeakKeyDictionary[Dialect, Compiled] = WeakKeyDictionary()

    def on(self, dialect: Dialect) -> Compiled:
        """The statement compiled for ``dialect`` (compiled on first use)."""
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> Compiled:
        keys = list(self.columns) if self.columns else None
        compiled = self.statement.compile(dialect=dialect, column_keys=keys)
        assert isinstance(compiled, SQLCompiler)
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        binds: list[tuple[str, Processor | None, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append((name, process, self._default(name, bind)))
        result_types = tuple(column.type for column in self._result_columns())
        return Compiled(compiled.string, compiled.positional, tuple(binds), dialect, result_types)

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
        default = column.default if column is not None else None
        if default is None:
            return None
        if not default.is_scalar:
            raise TypeError(f"give '{name}' explicitly: its default is computed, not a constant")
        return default.arg

    def _result_columns(self) -> list[ColumnElement[Any]]:
        """The columns a SELECT (or an INSERT/UPDATE's RETURNING) gives back."""
        if isinstance(self.statement, Select):
            return list(self.statement.selected_columns)
        if isinstance(self.statement, Insert | Update):
            return [d["expr"] for d in self.statement.returning_column_descriptions]
        return []


def insert_rows(table: Table, *, returning: ColumnElement[Any] | None = None) -> Statement:
    """An INSERT of every column of ``table`` but its generated key; each row gives them all."""
    statement = insert(table) if returning is None else insert(table).returning(returning)
    return Statement(statement, [c.key for c in table.c if c is not table.autoincrement_column])


class Sql:
    """Runs :class:`Statement` s in a session's transaction, on its DBAPI connection.

    Pending ORM changes are flushed first (as ``session.execute`` would autoflush them)."""

    def __init__(self, session: Session) -> None:
        if session.autoflush:
            session.flush()
        connection = session.connection()
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
            raise self._wrapped(error, compiled, params) from error

    def first(
        self, statement: Statement, values: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        """The first result row (None when there is none)."""
        compiled = statement.on(self.dialect)
        self._run(compiled, compiled.params(values or {}))
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

    def _run(self, compiled: Compiled, params: Sequence[Any] | dict[str, Any]) -> None:
        try:
            self._cursor.execute(compiled.sql, params)
        except self._error as error:
            raise self._wrapped(error, compiled, params) from error

    def _wrapped(self, error: Exception, compiled: Compiled, params: Any) -> DBAPIError:
        wrapped = DBAPIError.instance(
            compiled.sql, params, error, self._error, dialect=self.dialect
        )
        assert isinstance(wrapped, DBAPIError)
        return wrapped
