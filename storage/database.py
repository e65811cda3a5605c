"""The registry's database: a SQLite file in the data folder, or a PostgreSQL server that
several instances share. Deferred until one of them is opened.

One connection per thread: peewee keeps connection state thread-local and opens
it on first use. SQLite runs in WAL mode, so that readers never wait for the
writer, with a busy timeout, so that the server, the window and the admin CLI
can write to the same file from different processes. PostgreSQL connections come
from a bounded pool, each given back at the end of its request, so that an
instance's 48 server threads share a few of the server's connections.

Both give the same guarantee to the code above: a write transaction holds the
registry's one write lock from its start, so a check-then-insert inside it is
safe from races, whichever process or instance runs it.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
from collections.abc import Callable

from peewee import DatabaseError, DatabaseProxy, SqliteDatabase
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase

from storage.errors import StorageError, translate

# Copying the write-ahead log back into the database file (a checkpoint, with its two
# fsyncs) is left to a chore of its own (checkpoint_write_ahead_log): done by whichever
# commit crosses SQLite's 1,000 pages, it stalled that writer, and a grant paid a
# tenth of its time for it. Writers still checkpoint at this many pages (40 MB),
# should the chore fall behind or not run (the admin command line).
# https://www.sqlite.org/wal.html#automatic_checkpoint
WRITER_CHECKPOINT_PAGES = 10_000
# synchronous=NORMAL is safe in WAL mode: a killed process loses nothing that
# was committed, and a power loss can lose only the last commits, never
# consistency. https://www.sqlite.org/pragma.html#pragma_synchronous
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "wal_autocheckpoint": WRITER_CHECKPOINT_PAGES,
}
BUSY_TIMEOUT_SECONDS = 15
# Per instance (two of them and a few windows fit in PostgreSQL's default max_connections
# of 100); beyond, a thread waits up to the busy timeout for one to come free. With 16,
# polls queued for a connection (bench 12's p99 twice that with 48).
POOL_CONNECTIONS = 32
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
# pg_advisory_xact_lock's key for the write lock: any constant, the same in every instance.
WRITE_LOCK_KEY = 0x436C_5265_6769  # "ClRegi"

db = DatabaseProxy()
_committing = threading.local()  # .callbacks: what after_commit asked of this thread's write transaction


class BadDatabaseUrl(StorageError):
    """A --database URL this release cannot use; the message says why."""


def open_sqlite(path: str) -> None:
    if _opened(path):
        return
    _use(path, SqliteDatabase(path, pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS))


def open_postgresql(url: str) -> None:
    """Point the database at the PostgreSQL server of ``url`` (postgresql://USER:PASSWORD@HOST:PORT/DB)."""
    if _opened(url):
        return
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in POSTGRESQL_SCHEMES:
        raise BadDatabaseUrl(f"the database URL must start with postgresql://, not {scheme or 'nothing'}://")
    # The URL's own query (sslmode=require, say) goes to the driver, over these defaults.
    parameters = {"connect_timeout": BUSY_TIMEOUT_SECONDS, **parse_url(url)}
    if not parameters.get("database"):
        raise BadDatabaseUrl(f"the database URL names no database: {redacted(url)}")
    for part in ("user", "password"):  # percent-encoded in a URL (an @ or / in a password); peewee leaves them so
        if parameters.get(part):
            parameters[part] = urllib.parse.unquote(parameters[part])
    _use(url, PooledPostgresqlDatabase(
        max_connections=POOL_CONNECTIONS, timeout=BUSY_TIMEOUT_SECONDS, stale_timeout=300,
        # Times are epoch seconds: peewee's FLOAT is PostgreSQL's 4-byte REAL, which
        # would round them to minutes.
        field_types={"FLOAT": "DOUBLE PRECISION"}, **parameters))


def _opened(target: str) -> bool:
    """Whether ``db`` is already open on ``target``: opening it again in the same process (the
    admin CLI's code where a server runs, in the tests) keeps the object whose per-thread
    transactions other threads may be inside."""
    return db.obj is not None and getattr(db.obj, "registry_target", None) == target


def _use(target: str, database) -> None:
    """Point ``db`` at ``database`` (opened on ``target``), closing what this process had open
    on the previous one."""
    previous = db.obj
    close_db()
    if isinstance(previous, PooledPostgresqlDatabase):
        previous.close_all()
    database.registry_target = target
    db.initialize(database)


def redacted(url: str) -> str:
    """``url`` without its password, fit for a log line or an error message."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def is_shared() -> bool:
    """Whether the database is a server that other instances may be using too."""
    return not isinstance(db.obj, SqliteDatabase)


def close_db() -> None:
    """Close this thread's connection, if it has one."""
    if db.obj is not None and not db.is_closed():
        db.close()


def done_with_connection() -> None:
    """The end of a request: a pooled connection goes back to the pool for other threads.
    A SQLite connection stays with its thread, where reopening it would cost more."""
    if is_shared():
        close_db()


@contextlib.contextmanager
def write_transaction():
    """A transaction that takes the registry's write lock up front; storage errors, not peewee's.

    SQLite: a deferred transaction that reads and then writes fails at once with
    SQLITE_BUSY when another connection wrote in between; IMMEDIATE waits for
    the lock (up to the busy timeout) instead.
    https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions
    PostgreSQL: a transaction-scoped advisory lock plays the same part for every
    instance, and in READ COMMITTED each statement after it sees what the
    previous holder committed. https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS
    """
    if db.transaction_depth() > 0:  # inside a transaction already: a savepoint of it
        with _locked_transaction():
            yield
        return
    _committing.callbacks = []
    try:
        with _locked_transaction():
            yield
        callbacks = _committing.callbacks
    finally:
        _committing.callbacks = None
    for callback in callbacks:
        callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` once this thread's write transaction has committed; never if it rolls
    back. A savepoint rolled back within it does not withdraw the call: fit for telling
    caches to forget, not for announcing a change."""
    _committing.callbacks.append(callback)


@contextlib.contextmanager
def _locked_transaction():
    try:
        if is_shared():
            with db.atomic():
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield
        else:
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
        with db.atomic(isolation_level="REPEATABLE READ") if is_shared() else db.atomic():
            yield
    except DatabaseError as error:
        raise translate(error) from error


def checkpoint_write_ahead_log() -> None:
    """Copy what SQLite's write-ahead log holds into the database file, as far as readers
    allow, without waiting for anyone: a PASSIVE checkpoint runs beside writers and
    readers, and mostly outside Python's lock, on another core than the requests'.
    PostgreSQL checkpoints by itself. https://www.sqlite.org/pragma.html#pragma_wal_checkpoint"""
    if not is_shared():
        try:
            db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except DatabaseError as error:
            raise translate(error) from error


def create_collations() -> None:
    """Usernames compare without regard to case (``collation="NOCASE"`` in storage.models).
    SQLite has NOCASE built in; on PostgreSQL an ICU collation of that name does the
    same for ASCII names, in comparisons and in unique indexes alike.
    https://www.postgresql.org/docs/15/collation.html#COLLATION-NONDETERMINISTIC"""
    if is_shared():
        db.execute_sql("CREATE COLLATION IF NOT EXISTS nocase "
                       "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)")


def json_array_length(column: str) -> str:
    """SQL for the length of the JSON array stored as text in ``column``."""
    return f"json_array_length({column}::json)" if is_shared() else f"json_array_length({column})"

