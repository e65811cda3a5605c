"""A real PostgreSQL server for the tests (tools.postgres_cluster): one cluster for the
run, a fresh database for each test; skipped with the install command where there is
none, failed where servers are required (tests.servers)."""

from __future__ import annotations

import pytest

from tests.servers import missing
from tools.postgres_cluster import PostgresServer, programs

# For tests that must hold on either database (a module's ``pytestmark``, or a test's
# decorator): the ``service`` and ``database_url`` fixtures are then the SQLite file
# once and a new PostgreSQL database once.
both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def start_postgres() -> PostgresServer:
    """A running server, or the test skipped (failed in CI) with the install command."""
    bin_dir = programs()
    if bin_dir is None:
        missing("PostgreSQL", "postgresql")
    server = PostgresServer(bin_dir)
    server.start()
    return server
