"""A real PostgreSQL server for the tests: its own cluster in a temporary folder, on a free
loopback port, with password authentication; a fresh database for each test.

PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to the
``postgres`` user and its programs run through ``runuser``.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port
from tests.servers import missing

# For tests that must hold on either database (a module's ``pytestmark``, or a test's
# decorator): the ``service`` and ``database_url`` fixtures are then the SQLite file
# once and a new PostgreSQL database once.
both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

USER = "registry"
PASSWORD = "test-only-password"


def _programs() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's (not on PATH), or what PATH has."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self._bin = bin_dir
        self._root = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self._as_postgres = os.geteuid() == 0
        self.port = free_port()
        self._names = itertools.count(1)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self._bin / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self._root, "postgres")
        password_file = self._root / "password"
        password_file.write_text(PASSWORD)
        if self._as_postgres:
            shutil.chown(password_file, "postgres")
        data = self._root / "cluster"
        self._run("initdb", "-D", str(data), "-U", USER, f"--pwfile={password_file}", "--auth=scram-sha-256",
                  "-E", "UTF8", "--locale=C.UTF-8")
        # fsync off: a test cluster is thrown away, and the suite runs much faster.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self._root} "
                   "-c fsync=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self._root / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self._root / "cluster"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"registry_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def start_postgres() -> PostgresServer:
    """A running server, or the test skipped (failed in CI) with the install command."""
    bin_dir = _programs()
    if bin_dir is None:
        missing("PostgreSQL", "postgresql")
    server = PostgresServer(bin_dir)
    server.start()
    return server
