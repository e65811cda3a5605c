"""``main.py renew`` end to end: the real server, ``main.py enroll`` and the admin CLI, each a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, Registry, wait_until

WAIT_SECONDS = 60


def run(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=WAIT_SECONDS, env=env)


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory):
    """A running registry and a device enrolled with ``main.py enroll`` (key, certificate,
    CA and a generated password in ``out``)."""
    folder = tmp_path_factory.mktemp("renew")
    registry = Registry(folder)
    registry.start()
    out = folder / "out"
    registry.admin("open")
    enrolment = subprocess.Popen(
        [sys.executable, "main.py", "enroll", "--url", registry.url, "--username", "pump7", "--out", str(out),
         "--ca-fingerprint", registry.admin("ca").stdout.strip(), "--timeout", "60"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        registry.wait_for_pending("pump7")
        registry.admin("grant", "pump7")
        assert enrolment.wait(WAIT_SECONDS) == 0, enrolment.communicate()
        yield registry, out
    finally:
        enrolment.kill()
        registry.stop()


def renew(registry: Registry, out: Path, *options: str) -> subprocess.CompletedProcess:
    return run("renew", "--url", registry.url, "--out", str(out), "--username", "pump7", *options)


def openssl_verify(out: Path, registry: Registry) -> subprocess.CompletedProcess:
    crl = out.parent / "crl.pem"
    crl.write_text(registry.admin("crl").stdout)
    return subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", str(out / "ca.crt"), "-CRLfile", str(crl),
                           str(out / "pump7.crt")], capture_output=True, text=True, timeout=30)


def states(registry: Registry) -> list[str]:
    import json

    return [f"{view['state']}:{view['revocationReason']}" for view in
            json.loads(registry.admin("certificates", "pump7", "--json").stdout)]


def test_renew_does_nothing_until_due_then_renews_by_certificate_and_falls_back_to_the_password(enrolled):
    registry, out = enrolled
    first_key, first_certificate = (out / "pump7.key").read_bytes(), (out / "pump7.crt").read_bytes()

    not_due = renew(registry, out)
    assert not_due.returncode == 0 and not_due.stdout.startswith("not due:"), not_due.stderr
    assert (out / "pump7.crt").read_bytes() == first_certificate

    registry.admin("lock")  # renewal needs no open registry and no administrator
    renewed = renew(registry, out, "--within", "400")
    assert renewed.returncode == 0 and renewed.stdout.startswith("renewed: serial"), renewed.stderr
    assert (out / "pump7.key").read_bytes() != first_key
    assert (out / "pump7.crt").read_bytes() != first_certificate
    assert openssl_verify(out, registry).returncode == 0
    assert states(registry) == ["revoked:superseded", "current:None"]

    kept_key = (out / "pump7.key").read_bytes()
    assert renew(registry, out, "--within", "400", "--keep-key").returncode == 0
    assert (out / "pump7.key").read_bytes() == kept_key

    registry.admin("revoke", "pump7", "--reason", "keyCompromise")
    assert "certificate revoked" in openssl_verify(out, registry).stderr
    by_password = renew(registry, out, "--within", "400")  # the revoked certificate is refused: the password works
    assert by_password.returncode == 0, by_password.stderr
    assert openssl_verify(out, registry).returncode == 0
    assert states(registry)[-2:] == ["revoked:keyCompromise", "current:None"]

    (out / "pump7.password").rename(out / "pump7.password.away")
    registry.admin("revoke", "pump7")
    try:
        stuck = renew(registry, out, "--within", "400")
    finally:
        (out / "pump7.password.away").rename(out / "pump7.password")
    assert stuck.returncode == 1 and stuck.stderr.count("\n") == 1 and "no password" in stuck.stderr
    assert "certificate revoked" in openssl_verify(out, registry).stderr  # nothing was replaced
    wait_until(lambda: renew(registry, out, "--within", "400").returncode == 0, "a renewal with the password back")


def test_renew_refuses_a_registry_it_does_not_trust(enrolled, tmp_path):
    registry, out = enrolled
    other = Registry(tmp_path)
    other.start()
    other.stop()
    distrusted = renew(registry, out, "--within", "400", "--ca-file", str(other.ca_file))
    assert distrusted.returncode == 5 and "Traceback" not in distrusted.stderr, distrusted.stderr
