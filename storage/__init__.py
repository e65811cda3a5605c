"""Persistence for Client Registry: a SQLite file, or a shared PostgreSQL; no HTTP and no Qt."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from common.files import make_owner_only

from storage.database import (
    BadDatabaseUrl,
    checkpoint_write_ahead_log,
    close_db,
    db,
    done_with_connection,
    is_shared,
    open_postgresql,
    open_sqlite,
    read_snapshot,
    redacted,
    write_transaction,
)
from storage.errors import DatabaseUnavailable, PublicKeyTaken, StorageError, UsernameTaken
from storage.migrations import SchemaTooNew, bring_up_to_date

DATABASE_FILE = "registry.sqlite3"


def init_db(data_dir: Path, database_url: str | None = None) -> int:
    """Point the database at the PostgreSQL server of ``database_url``, or else at the SQLite
    file in ``data_dir``; create or upgrade its schema (storage.migrations).

    Returns the schema version found (0: a new database). Raises storage's own
    errors for a damaged, read-only, unreachable or newer database."""
    if database_url is None:
        path = Path(data_dir) / DATABASE_FILE
        _make_owner_only_files(path)
        open_sqlite(str(path))
    else:
        open_postgresql(database_url)
    with write_transaction():
        return bring_up_to_date()


def snapshot_database(target: Path) -> None:
    """A consistent copy of the database at ``target`` (owner-only), taken while others
    read and write it: SQLite's online backup copies every page under one read
    transaction, and in WAL mode that blocks no writer.
    https://www.sqlite.org/backup.html"""
    if is_shared():
        raise DatabaseUnavailable("a PostgreSQL registry is backed up by PostgreSQL's own tools "
                                  "(pg_dump, or continuous archiving), not by this command")
    _make_owner_only_files(Path(target))
    copy = sqlite3.connect(target)
    try:
        db.connection().backup(copy)
    except sqlite3.Error as error:  # the driver's own, raised past peewee: the copy's disk, say
        raise DatabaseUnavailable(f"cannot copy the database to {target}: {error}") from error
    finally:
        copy.close()


def _make_owner_only_files(path: Path) -> None:
    """The database holds the password hashes: owner-only, like the CA key.

    SQLite creates the -wal and -shm files with the mode of the database file
    (https://www.sqlite.org/src/doc/trunk/src/os_unix.c, findCreateFileMode),
    so creating that file owner-only before SQLite does is enough for new
    ones; files an earlier release left readable are made owner-only. Never
    through a symbolic link (O_NOFOLLOW, and make_owner_only's own check).
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            make_owner_only(name)


__all__ = [
    "DATABASE_FILE", "BadDatabaseUrl", "DatabaseUnavailable", "PublicKeyTaken", "SchemaTooNew", "StorageError",
    "UsernameTaken", "checkpoint_write_ahead_log", "close_db", "db", "done_with_connection", "init_db", "is_shared",
    "read_snapshot", "redacted", "snapshot_database", "write_transaction",
]
