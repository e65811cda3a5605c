"""Persistence for Client Registry: one SQLite file, no HTTP and no Qt."""

from __future__ import annotations

from pathlib import Path

from storage.database import BUSY_TIMEOUT_SECONDS, PRAGMAS, close_db, db, read_snapshot, write_transaction
from storage.errors import DatabaseUnavailable, PublicKeyTaken, StorageError, UsernameTaken
from storage.migrations import SchemaTooNew, bring_up_to_date

DATABASE_FILE = "registry.sqlite3"


def init_db(data_dir: Path) -> int:
    """Point the database at ``data_dir``; create or upgrade its schema (storage.migrations).

    Returns the schema version found (0: a new database). Raises storage's own
    errors for a damaged, read-only or newer database."""
    db.init(str(Path(data_dir) / DATABASE_FILE), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS)
    with write_transaction():
        return bring_up_to_date()


__all__ = [
    "DATABASE_FILE", "DatabaseUnavailable", "PublicKeyTaken", "SchemaTooNew", "StorageError", "UsernameTaken",
    "close_db", "db", "init_db", "read_snapshot", "write_transaction",
]
