"""SQL that peewee compiles once per database rather than once per call.

peewee compiles a query anew on every call, which for a wide table costs many
times the lookup itself. The hot statements (a poll's lookup, the poll-flush's
update) are compiled once, by peewee, for the database in use: the SQL of
SQLite and PostgreSQL differ (placeholders, quoting), and a process may open one
after the other (the tests do).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from storage.database import db


def compiled(build: Callable[..., str]) -> Callable[..., str]:
    """Cache ``build(*args)``'s SQL per kind of database."""

    @functools.cache
    def for_database(kind: type, *args) -> str:
        return build(*args)

    @functools.wraps(build)
    def wrapper(*args) -> str:
        return for_database(type(db.obj), *args)

    return wrapper
