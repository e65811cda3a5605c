"""The registry's SQLite database: deferred until a data folder is known.

One connection per thread (peewee keeps connection state thread-local and
opens it on first use), WAL so that readers never wait for the writer, and a
busy timeout so that the server, the window and the admin CLI can write to
the same file from different processes.
"""

from __future__ import annotations

import contextlib

from peewee import DatabaseError, SqliteDatabase

from storage.errors import StorageError, translate

# synchronous=NORMAL is safe in WAL mode: a killed process loses nothing that
# was committed, and a power loss can lose only the last commits, never
# consistency. https://www.sqlite.org/pragma.html#pragma_synchronous
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
}
BUSY_TIMEOUT_SECONDS = 15

db = SqliteDatabase(None)


def close_db() -> None:
    """Close this thread's connection, if it has one."""
    if not db.is_closed():
        db.close()


@contextlib.contextmanager
def write_transaction():
    """A transaction that takes the write lock up front; storage errors, not peewee's.

    A deferred transaction that reads and then writes fails at once with
    SQLITE_BUSY when another connection wrote in between; IMMEDIATE waits for
    the lock (up to the busy timeout) instead. Holding the write lock also
    makes a check-then-insert inside it safe from races.
    https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions
    """
    try:
        with db.atomic("IMMEDIATE"):
            yield
    except StorageError:
        raise
    except DatabaseError as error:
        raise translate(error) from error


@contextlib.contextmanager
def read_snapshot():
    """Several reads that see one state of the database."""
    try:
        with db.atomic():
            yield
    except DatabaseError as error:
        raise translate(error) from error
