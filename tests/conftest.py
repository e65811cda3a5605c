"""Shared fixtures: a real registry in a temp folder, served by the real cheroot
server on a free port over real HTTPS."""

from __future__ import annotations

import os

import pytest

# The window's tests need no screen; without this, a bare `pytest` on a machine
# without a display would abort in Qt instead of running.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from main import main
from wiring import open_registry, start_server
from server.ca import CA_CERT_FILE
from storage import close_db
from tests.haproxy import Haproxy
from tests.helpers import Client, FakeClock
from tests.postgres import start_postgres
from tests.processes import Registry
from tests.receiver import Receiver


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the tests' own, for the whole run (skipped where there is none)."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def database_url(request) -> str | None:
    """None (the SQLite file in the data folder), or a new PostgreSQL database's URL
    where the test is parametrised with "postgresql" (``tests.postgres.both_databases``)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(tmp_path, clock, database_url):
    """The registration service over a fresh data folder and database, with the fake clock."""
    registry = open_registry(tmp_path / "data", clock, database_url=database_url)
    yield registry
    close_db()


@pytest.fixture
def server(service, tmp_path):
    """The HTTPS server on 127.0.0.1 and a free port."""
    running = start_server(service, tmp_path / "data", "127.0.0.1", 0)
    yield running
    running.stop()


@pytest.fixture
def client(server, tmp_path) -> Client:
    """A client that trusts only the registry's CA file."""
    return Client(server.url, tmp_path / "data" / CA_CERT_FILE)


@pytest.fixture
def admin(service, tmp_path, capsys, database_url):
    """Run ``main.py admin …`` in-process on the service's data folder and database:
    (exit status, stdout, stderr)."""
    database = ["--database", database_url] if database_url else []
    def run(*arguments: str):
        capsys.readouterr()
        status = main(["admin", "--data-dir", str(tmp_path / "data"), *database, *arguments])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture
def registry(tmp_path) -> Registry:
    """``main.py --headless`` as its own process on a fresh data folder; stopped (or killed) after."""
    running = Registry(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def receiver():
    """Make local receivers for notifications: ``receiver(failures=0)``; closed after."""
    made = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def haproxy(tmp_path) -> Haproxy:
    """HAProxy with the README's configuration on a free port, to ``start(registry_port)``
    once the registry runs; stopped after. Skipped where haproxy is not installed
    (failed, in CI: ``tests/servers.py``)."""
    balancer = Haproxy(tmp_path)
    yield balancer
    balancer.stop()
