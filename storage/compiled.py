"""Statements compiled once per kind of database, for the hot paths.

peewee compiles a query into SQL anew on every call, which for a wide table
costs many times what the database then takes to run it. The statements every
poll or every grant runs are compiled here once, by peewee itself for the
database in use, and kept per database class: a process that later initialises
another kind of database (SQLite, then PostgreSQL) compiles them again for it
rather than sending it another dialect's SQL.

A compiled statement's values are named slots, filled in on each execution, so
that nobody relies on the order in which peewee writes the parameters (it sorts
an UPDATE's columns, for one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from peewee import Field, Proxy, Value, __exception_wrapper__

from storage.database import db


@dataclass(frozen=True)
class _Slot:
    name: str
    to_database: Callable[[object], object] | None

    def fill(self, values: Mapping[str, object]) -> object:
        value = values[self.name]
        return value if self.to_database is None else self.to_database(value)


def slot(name: str, field: Field | None = None) -> Value:
    """A value of a compiled statement, given as ``name`` on each execution and stored as
    ``field`` stores it (JSON text, say), as peewee would have converted it."""
    return Value(_Slot(name, None if field is None else field.db_value), converter=False, unpack=False)


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: tuple  # as compiled: a _Slot to fill in, or a constant of the query

    def bind(self, values: Mapping[str, object]) -> tuple:
        return tuple(parameter.fill(values) if type(parameter) is _Slot else parameter
                     for parameter in self.parameters)

    def execute(self, **values):
        """Run once; the DB-API cursor, for ``fetchall`` and ``rowcount``."""
        return db.execute_sql(self.sql, self.bind(values))

    def execute_many(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Run once for each row of values, in one call to the driver."""
        parameters = [self.bind(row) for row in rows]
        with __exception_wrapper__:  # the driver's errors as peewee's, as execute_sql raises them
            db.cursor().executemany(self.sql, parameters)


def compiled(build: Callable[..., object]) -> Callable[..., Statement]:
    """Decorator: the Statement of the query ``build(*arguments)`` returns, compiled once
    for each database class and each ``arguments``."""
    statements: dict[tuple, Statement] = {}

    @functools.wraps(build)
    def statement(*arguments) -> Statement:
        key = (type(_database()), arguments)
        found = statements.get(key)
        if found is None:
            sql, parameters = build(*arguments).sql()
            found = statements[key] = Statement(sql, tuple(parameters))
        return found

    return statement


def _database():
    """The database in use, also when ``db`` is a peewee ``DatabaseProxy`` (whose own type
    says nothing about the dialect)."""
    return db.obj if isinstance(db, Proxy) else db
