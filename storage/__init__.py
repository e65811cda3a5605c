"""Persistence for Client Registry: one SQLite file, no HTTP and no Qt."""

from __future__ import annotations

from pathlib import Path

from storage.database import BUSY_TIMEOUT_SECONDS, PRAGMAS, close_db, db, read_snapshot, write_transaction
from storage.errors import DatabaseUnavailable, PublicKeyTaken, StorageError, UsernameTaken
from storage.models import MODELS, RegistryState

DATABASE_FILE = "registry.sqlite3"


def init_db(data_dir: Path) -> Path:
    """Point the database at ``data_dir``; create the schema on first start."""
    path = Path(data_dir) / DATABASE_FILE
    db.init(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS)
    with write_transaction():  # raises storage's own errors for a damaged or read-only file
        db.create_tables(MODELS, safe=True)
        RegistryState.insert(id=RegistryState.SINGLETON_ID).on_conflict_ignore().execute()
    return path


__all__ = [
    "DATABASE_FILE", "DatabaseUnavailable", "PublicKeyTaken", "StorageError", "UsernameTaken",
    "close_db", "db", "init_db", "read_snapshot", "write_transaction",
]
