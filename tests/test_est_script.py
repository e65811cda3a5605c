"""client/est-enroll.sh end to end under dash: the real server and the admin CLI as processes.

The script is fetched from the registry, as a device would, and run with ``sh``
(dash on Debian); the administrator grants from ``main.py admin grant`` while
the script polls, so the test waits one Retry-After (5 s), not minutes.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, Registry

WAIT_SECONDS = 60
DASH = shutil.which("dash")


def script(registry: Registry, into: Path) -> Path:
    reply = requests.get(f"{registry.url}/api/client-registry/est-enroll.sh", verify=str(registry.ca_file),
                         timeout=30)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/plain")
    assert reply.content == (ROOT / "client" / "est-enroll.sh").read_bytes()
    path = into / "est-enroll.sh"
    path.write_bytes(reply.content)
    return path


def run(path: Path, *arguments: str, **options) -> subprocess.Popen:
    return subprocess.Popen(["dash", str(path), *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "EST_PASSWORD": "pump-eight-password"}, **options)


def verify(out: Path, crl: Path | None = None) -> subprocess.CompletedProcess:
    options = ["-crl_check", "-CRLfile", str(crl)] if crl else []
    return subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca.crt"), *options, str(out / "pump8.crt")],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(DASH is None, reason="dash is not installed (apt-get install -y dash)")
def test_the_script_enrols_under_dash_with_a_grant_from_the_cli_then_renews(registry, tmp_path):
    path = script(registry, tmp_path)
    out = tmp_path / "device"
    common = ("--url", registry.url, "--username", "pump8", "--out", str(out))

    wrong_pin = run(path, "enroll", *common, "--ca-fingerprint", "00" * 32)
    assert wrong_pin.wait(WAIT_SECONDS) == 1
    assert "not trusting it" in wrong_pin.stderr.read() and not (out / "ca.crt").exists()

    registry.admin("open")
    enrolment = run(path, "enroll", *common, "--ca-fingerprint", registry.ca_fingerprint, "--timeout", "60")
    try:
        registry.wait_for_pending("pump8")
        registry.admin("grant", "pump8")
        assert enrolment.wait(WAIT_SECONDS) == 0, enrolment.stderr.read()
    finally:
        enrolment.kill()
    output = enrolment.stdout.read()
    assert "202:" in output and "asking again every 5s" in output and "enrolled:" in output
    assert stat.S_IMODE((out / "pump8.key").stat().st_mode) == 0o600
    assert verify(out).returncode == 0
    [row] = registry.registrations()
    assert (row["username"], row["enrolledVia"]) == ("pump8", "est")
    assert "EST" in registry.admin("list").stdout.splitlines()[1].split()
    assert "agent 127.0.0.1 (EST)" in registry.admin("log").stdout

    old_certificate, old_key = (out / "pump8.crt").read_text(), (out / "pump8.key").read_bytes()
    renewal = run(path, "renew", *common)
    assert renewal.wait(WAIT_SECONDS) == 0, renewal.stderr.read()
    assert (out / "pump8.crt").read_text() != old_certificate and (out / "pump8.key").read_bytes() != old_key
    crl = tmp_path / "crl.pem"
    crl.write_text(registry.admin("crl").stdout)
    assert verify(out, crl).returncode == 0
    (tmp_path / "old.crt").write_text(old_certificate)
    revoked = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca.crt"), "-crl_check", "-CRLfile", str(crl),
                              str(tmp_path / "old.crt")], capture_output=True, text=True, timeout=30)
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stdout + revoked.stderr
    assert list(out.glob(".est-enroll.*")) == []  # no working files left behind
