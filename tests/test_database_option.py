"""--database and CLIENT_REGISTRY_DATABASE as a user meets them when something is wrong:
one line and exit 1 (2 for a bad combination of options), never a traceback, and the
password of a database URL never printed."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse

import psycopg
import pytest
from psycopg import sql

from tests.processes import ROOT, free_port

SECRET = "hunter2-not-for-logs"


def run(tmp_path, *arguments: str, environment: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *arguments, "--data-dir", str(tmp_path / "data")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **(environment or {})})


@pytest.mark.parametrize("url, says", [
    ("mysql://registry@db/registry", "must start with postgresql://"),
    (f"postgresql://registry:{SECRET}@127.0.0.1:{free_port()}/registry", "connection"),
    (f"postgresql://registry:{SECRET}@127.0.0.1:5432", "names no database"),
])
def test_a_database_that_cannot_be_used_is_one_line_without_its_password(tmp_path, url, says):
    for how in (["--headless", "--port", "0", "--database", url], ["admin", "status", "--database", url]):
        done = run(tmp_path, *how)
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1 and says in done.stderr and "Traceback" not in done.stderr
        assert SECRET not in done.stderr + done.stdout
    by_variable = run(tmp_path, "admin", "status", environment={"CLIENT_REGISTRY_DATABASE": url})
    assert by_variable.returncode == 1 and says in by_variable.stderr


def test_headless_without_a_server_is_refused_as_a_usage_error(tmp_path):
    done = run(tmp_path, "--headless", "--no-server")
    assert done.returncode == 2 and "--headless and --no-server leave nothing to run" in done.stderr


def test_backups_of_a_postgresql_registry_are_left_to_postgresql(tmp_path):
    done = run(tmp_path, "admin", "backup", str(tmp_path / "backup"), "--database",
               "postgresql://registry@127.0.0.1/registry")
    assert done.returncode == 1 and "pg_dump" in done.stderr
    assert not (tmp_path / "backup").exists()


def test_a_password_with_url_characters_is_percent_encoded_and_the_url_may_carry_options(postgres, tmp_path):
    """A generated password holds @, / or :; the URL carries it percent-encoded, and options
    for the driver (sslmode, connect_timeout) in its query."""
    password = "p@ss/w:rd%20?"
    name = f"special_{os.getpid()}"
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                               sql.Literal(password)))
        connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
    url = (f"postgresql://{name}:{urllib.parse.quote(password, safe='')}@127.0.0.1:{postgres.port}/{name}"
           "?sslmode=disable&connect_timeout=5")
    done = run(tmp_path, "admin", "status", environment={"CLIENT_REGISTRY_DATABASE": url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("locked")
