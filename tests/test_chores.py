"""The registry's chores: supervised, surviving failures, stopped after the server drains."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from contextlib import closing

from server.ca import CA_CERT_FILE
from server.chores import Chore, ChoreRunner, registry_chores
from storage import DATABASE_FILE, checkpoint_write_ahead_log, db
from tests.helpers import Client
from tests.postgres import both_databases
from tests.test_registration_flow import agent
from tests.test_storage import pending
from wiring import start_server

SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000


def test_a_failing_chore_is_logged_once_and_retried_until_it_works(caplog):
    calls = []
    recovered = threading.Event()

    def flaky():
        calls.append(1)
        if len(calls) <= 5:
            raise RuntimeError("the disk is having a bad day")
        recovered.set()

    runner = ChoreRunner([Chore("flaky", 0.01, flaky)])
    with caplog.at_level(logging.INFO, logger="server.chores"):
        runner.start()
        try:
            assert recovered.wait(10), "the chore was not retried after failing"
        finally:
            runner.stop()
    messages = [record.getMessage() for record in caplog.records]
    assert [m for m in messages if "failed" in m] == [
        "chore flaky failed; retrying every 0.01 s: the disk is having a bad day"]
    assert "chore flaky works again" in messages


def test_a_final_chore_runs_once_more_when_stopped_and_every_thread_is_released():
    runs, released = [], []
    runner = ChoreRunner([Chore("flush", 3600, lambda: runs.append("flush"), final=True),
                          Chore("expiry", 3600, lambda: runs.append("expiry"))],
                         release=lambda: released.append(threading.current_thread().name))
    runner.start()
    runner.stop()
    assert sorted(runs) == ["expiry", "flush", "flush"]
    assert sorted(released) == ["chore-expiry", "chore-flush"]


def test_a_poll_still_in_flight_when_the_server_stops_is_written(service, clock, tmp_path):
    """The server drains before the chores stop, so the last flush sees the last poll."""
    entered, proceed = threading.Event(), threading.Event()

    def slow_polls(app):
        def middleware(environ, start_response):
            if environ["PATH_INFO"].endswith("/register") and proceed.is_set() and not entered.is_set():
                entered.set()
                threading.Event().wait(0.5)  # still answering while stop() is called
            return app(environ, start_response)
        return middleware

    data = tmp_path / "data"
    running = start_server(service, data, "127.0.0.1", 0, wrap_app=slow_polls)
    client = Client(running.url, data / CA_CERT_FILE)
    service.open("tester")
    assert client.register(agent()).status == 202
    requested = service.details("alice").requested_at
    clock.advance(30)
    proceed.set()
    poll = threading.Thread(target=lambda: client.register(agent()))
    poll.start()
    assert entered.wait(10)
    running.stop()
    poll.join()
    assert service.details("alice").last_poll_at == requested + 30


def test_writers_leave_the_write_ahead_log_to_the_checkpoint_chore(service, tmp_path):
    """A commit that crosses SQLite's default 1,000 pages no longer copies the log into the
    database file itself (stalling its writer); the chore does, and then the file alone
    holds every committed row."""
    database_file = tmp_path / "data" / DATABASE_FILE
    [checkpoint] = [chore for chore in registry_chores(service) if chore.name == "checkpoint"]
    checkpoint.work()  # the schema, into the file
    for number in range(400):  # a transaction each, as agents' registrations come
        pending(f"agent-{number}")
    page_size = db.execute_sql("PRAGMA page_size").fetchone()[0]
    assert database_file.with_name(DATABASE_FILE + "-wal").stat().st_size > SQLITE_DEFAULT_CHECKPOINT_PAGES * page_size
    assert _rows_in_the_file_alone(database_file, tmp_path / "before") == 0

    checkpoint.work()
    assert _rows_in_the_file_alone(database_file, tmp_path / "after") == 400


@both_databases
def test_only_a_sqlite_registry_has_a_checkpoint_chore(service, database_url):
    names = [chore.name for chore in registry_chores(service)]
    assert ("checkpoint" in names) == (database_url is None)
    checkpoint_write_ahead_log()  # PostgreSQL checkpoints by itself: nothing to do, no error


def _rows_in_the_file_alone(database_file, folder) -> int:
    """The registrations a copy of the database file holds without its write-ahead log."""
    folder.mkdir()
    copy = shutil.copy(database_file, folder / DATABASE_FILE)
    with closing(sqlite3.connect(copy)) as connection:
        return connection.execute("SELECT COUNT(*) FROM registration").fetchone()[0]
