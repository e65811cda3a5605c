"""A throwaway PostgreSQL cluster: its own folder, a free loopback port, password
authentication, a new database on request. For the tests and the benchmarks.

PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to the
``postgres`` user and its programs run through ``runuser``.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

USER = "registry"
PASSWORD = "test-only-password"


def programs() -> Path | None:
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
        self.port = _free_port()
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
        self._run("initdb", "-D", str(self._root / "cluster"), "-U", USER, f"--pwfile={password_file}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        self._control("start")

    def restart(self) -> None:
        """Stop (closing every connection) and start again, as an upgrade or a failover would."""
        self._control("restart", "-m", "fast")

    def _control(self, action: str, *arguments: str) -> None:
        # fsync off: a test cluster is thrown away, and the suite runs much faster.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self._root} "
                   "-c fsync=off -c max_connections=300")
        # -l: the server's output goes to a file, never to a pipe that run() would wait on.
        self._run("pg_ctl", "-D", str(self._root / "cluster"), "-o", options, "-l", str(self._root / "log"),
                  "-w", action, *arguments)

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
