"""The rule for programs the tests need (tests/servers.py): skipped with the install
command on a developer's machine, a failure where CI requires them."""

from __future__ import annotations

import pytest

from tests.servers import REQUIRED_VARIABLE, require_program


def test_a_program_on_the_path_is_found():
    assert require_program("sh", "dash").endswith("/sh")


def test_a_missing_program_skips_with_the_install_command(monkeypatch):
    monkeypatch.delenv(REQUIRED_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no-such-server is not installed \(apt-get install -y nss\)"):
        require_program("no-such-server", "nss")


def test_a_missing_program_fails_where_ci_requires_it(monkeypatch):
    monkeypatch.setenv(REQUIRED_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y nss"):
        require_program("no-such-server", "nss")
