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
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]
_REQUIRED = object()


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
                kind.dialect_impl(self.dialect).result_processor(self.dialect, column[1])
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
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        defaults: dict[str, Any] = {}
        binders: list[tuple[int, Processor]] = []
        for index, name in enumerate(names):
            bind = compiled.binds[name]
            default = self._default(name, bind)
            if default is not _REQUIRED:
                defaults[name] = default
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders.append((index, process))
        return Compiled(
            sql=compiled.string,
            positional=compiled.positional,
            names=names,
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
    """Runs :class:`Statement` s on the DBAPI connection of a session's transaction (begun now
    if it was not; pending ORM changes are flushed first, as ``session.execute`` would), or of
    an engine connection without beginning one: for a single read, which the database then runs
    as a transaction of its own, without a BEGIN round trip."""

    def __init__(self, source: Session | Connection) -> None:
        if isinstance(source, Session):
            if source.autoflush:
                source.flush()
            connection = source.connection()
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
