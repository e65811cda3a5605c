"""``main.py enroll`` end to end: the real server, the real tool and the real admin
CLI, each in its own process, as on a plant network.

The server answers ``Retry-After: 10`` while locked and ``5`` while pending, so
the registry is opened before the tool starts except where waiting for it to
open is the point.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from tests.helpers import Client, key_pem, make_key
from tests.processes import ROOT, WAIT_SECONDS, Registry, wait_until
from tests.test_enroll_imports import BLOCK_IMPORTS

ENROLL_TIMEOUT = "60"  # the tool's own --timeout: a bug must not hang the suite for an hour

# Runs `main.py enroll` (or `python -m client enroll` when the first argument is
# "client") with Qt and the server's packages unimportable.
ISOLATED_RUNNER = BLOCK_IMPORTS + """
import runpy
entry, sys.argv = sys.argv[1], sys.argv[1:]
if entry == "client":
    runpy.run_module("client", run_name="__main__", alter_sys=True)
else:
    runpy.run_path(entry, run_name="__main__")
"""


@functools.cache
def pinned_fingerprint(registry: Registry) -> str:
    """The registry's CA fingerprint as `admin ca` prints it (one admin run per registry)."""
    return registry.ca_fingerprint


def admin(registry: Registry, *args: str) -> str:
    return registry.admin(*args).stdout


class Enrolment:
    """One run of the tool, its output in files (a pipe nobody reads could block it)."""

    def __init__(self, command: list[str], folder: Path, env: dict | None):
        self.stdout_path, self.stderr_path = folder / "stdout", folder / "stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=env)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for_line(self, text: str) -> None:
        wait_until(lambda: text in self.stdout or self.process.poll() is not None, f"the line {text!r}")
        assert text in self.stdout, self.stdout + self.stderr

    def finish(self) -> int:
        return self.process.wait(WAIT_SECONDS * 3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """One server for the module; each test sets the lock state it needs."""
    running = Registry(tmp_path_factory.mktemp("registry"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def enroll(tmp_path):
    """``enroll(registry, username, *options)`` starts ``main.py enroll`` with the registry's
    CA fingerprint (unless ``fingerprint=None``) and ``--out tmp/out``; killed at teardown."""
    runs: list[Enrolment] = []

    def start(registry: Registry, username: str, *options: str, fingerprint: str | None = "pinned",
              password: str | None = None, isolated_entry: str | None = None) -> Enrolment:
        command = ([sys.executable, "-c", ISOLATED_RUNNER, isolated_entry] if isolated_entry
                   else [sys.executable, "main.py"])
        command += ["enroll", "--url", registry.url, "--username", username, "--out", str(tmp_path / "out"),
                    "--timeout", ENROLL_TIMEOUT]
        if fingerprint is not None:
            command += ["--ca-fingerprint", pinned_fingerprint(registry) if fingerprint == "pinned" else fingerprint]
        env = {k: v for k, v in os.environ.items() if k != "CLIENT_REGISTRY_PASSWORD"}
        if password is not None:
            env["CLIENT_REGISTRY_PASSWORD"] = password
        folder = tmp_path / f"run-{len(runs)}"
        folder.mkdir()
        runs.append(Enrolment(command + list(options), folder, env))
        return runs[-1]

    yield start
    for run in runs:
        run.stop()


def key_fingerprint(key_path: Path) -> str:
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def self_signed_ca(name: str) -> x509.Certificate:
    key = make_key("ec")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def whoami(registry: Registry, out: Path, username: str, *, with_certificate: bool = False,
           password: str | None = None):
    """``/api/auth/whoami`` as the enrolled device: its key and certificate over mutual TLS,
    or its password, trusting only the CA the tool wrote."""
    cert = (out / f"{username}.crt", out / f"{username}.key") if with_certificate else None
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return Client(registry.url, out / "ca.crt", cert=cert).request("GET", "/api/auth/whoami", headers=headers)


def test_agent_waits_for_the_registry_to_open_then_gets_a_certificate_that_works(registry, enroll, tmp_path):
    admin(registry, "lock")
    run = enroll(registry, "pump7", "--role", "operator", "--permission", "mqtt:read:opc.tcp://plc:4840/line1",
                 "--context", '{"site": "Hall 3", "version": "2.1"}')
    run.wait_for_line("waiting for the registry to open")
    admin(registry, "open")
    run.wait_for_line("waiting for approval")

    out = tmp_path / "out"
    review = json.loads(admin(registry, "show", "pump7", "--json"))
    assert review["context"] == {"site": "Hall 3", "version": "2.1"}
    assert review["roles"] == ["operator"]
    assert review["permissions"] == [{"resource": "opc.tcp://plc:4840/line1", "operation": "read", "context": "mqtt"}]
    assert review["csr"]["keyFingerprint"] == key_fingerprint(out / "pump7.key")
    # The admin checks the fingerprint the technician reads out against the request's.
    admin(registry, "grant", "pump7", "--fingerprint", key_fingerprint(out / "pump7.key"))

    assert run.finish() == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert sum("waiting for the registry to open" in line for line in lines) == 1
    assert [line for line in lines if "waiting for approval" in line] == [
        next(line for line in lines if key_fingerprint(out / "pump7.key") in line)]
    # The technician reads out the pairing code too: the one the administrator sees.
    assert f"pairing code {review['pairingCode']}" in next(line for line in lines if "waiting for approval" in line)
    assert "granted: roles operator; 1 permission" in lines

    assert mode(out / "pump7.key") == 0o600
    assert mode(out / "pump7.password") == 0o600
    assert mode(out / "pump7.crt") == 0o644 and mode(out / "ca.crt") == 0o644
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    ca = x509.load_pem_x509_certificate((out / "ca.crt").read_bytes())
    certificate = x509.load_pem_x509_certificate((out / "pump7.crt").read_bytes())
    assert hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest() == pinned_fingerprint(registry)
    # The web PKI profile insists on a SAN; a device's client certificate rightly has none.
    device_profile = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    verifier = (PolicyBuilder().store(Store([ca]))
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=device_profile)
                .build_client_verifier())
    assert verifier.verify(certificate, []).chain == [certificate, ca]
    openssl = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca.crt"), str(out / "pump7.crt")],
                             capture_output=True, text=True)
    assert openssl.returncode == 0 and openssl.stdout.strip().endswith(": OK"), openssl.stdout + openssl.stderr

    by_certificate = whoami(registry, out, "pump7", with_certificate=True)
    assert by_certificate.status == 200
    assert by_certificate.json["username"] == "pump7"
    assert by_certificate.json["authenticatedBy"] == "certificate"
    password = (out / "pump7.password").read_text().strip()
    assert password not in run.stdout + run.stderr
    by_password = whoami(registry, out, "pump7", password=password)
    assert (by_password.status, by_password.json["authenticatedBy"]) == (200, "password")


def test_a_rejected_agent_exits_3_with_the_reason_and_writes_no_certificate(registry, enroll, tmp_path):
    admin(registry, "open")
    (tmp_path / "secret").write_text("correct horse battery\n")
    run = enroll(registry, "intruder", "--password-file", str(tmp_path / "secret"), "--context", "Hall 3, line 2")
    run.wait_for_line("waiting for approval")
    assert json.loads(admin(registry, "show", "intruder", "--json"))["context"] == "Hall 3, line 2"
    admin(registry, "reject", "intruder", "--reason", "not one of ours \x1b[2J")

    assert run.finish() == 3
    assert run.stderr.count("\n") == 1
    assert "rejected by the administrator: not one of ours \\x1b[2J" in run.stderr
    assert "\x1b" not in run.stderr + run.stdout
    assert not (tmp_path / "out" / "intruder.crt").exists()
    assert not (tmp_path / "out" / "intruder.password").exists()  # the password came from the file
    assert "correct horse" not in run.stdout + run.stderr


def test_it_gives_up_at_the_timeout_with_exit_4_and_one_line_per_state(registry, enroll):
    admin(registry, "lock")
    run = enroll(registry, "patient", "--timeout", "2")

    assert run.finish() == 4
    assert run.stdout.count("waiting for the registry to open") == 1
    assert "timed out after 2 seconds waiting for the registry to open" in run.stderr
    assert registry.status_of("patient") is None


def test_a_wrong_ca_fingerprint_exits_5_before_anything_is_sent(registry, enroll, tmp_path):
    admin(registry, "open")
    wrong = "00" + pinned_fingerprint(registry)[2:]
    run = enroll(registry, "mitm.victim", fingerprint=wrong)

    assert run.finish() == 5
    assert f"not {wrong}" in run.stderr
    assert registry.status_of("mitm.victim") is None
    assert not (tmp_path / "out").exists()


def test_without_a_fingerprint_it_prints_the_ca_fingerprint_and_exits_5(registry, enroll, tmp_path):
    admin(registry, "open")
    run = enroll(registry, "first.contact", fingerprint=None)

    assert run.finish() == 5
    assert pinned_fingerprint(registry) in run.stdout
    assert "main.py admin ca" in run.stdout
    assert "not trusted" in run.stderr
    assert "Traceback" not in run.stderr
    assert registry.status_of("first.contact") is None


def test_a_rerun_resends_the_same_request_and_a_changed_one_is_refused(registry, enroll, tmp_path):
    """ECDSA signatures are randomised: a CSR made anew would differ and be refused (409),
    so an interrupted device must reuse its stored key, CSR and generated password."""
    admin(registry, "open")
    first = enroll(registry, "rebooter", "--role", "reader")
    first.wait_for_line("waiting for approval")
    assert registry.status_of("rebooter") == "pending"
    first.stop()  # the device loses power while waiting for approval

    changed = enroll(registry, "rebooter", "--role", "writer")
    assert changed.finish() == 1
    assert changed.stderr.count("\n") == 1
    assert "a pending request cannot change" in changed.stderr

    again = enroll(registry, "rebooter", "--role", "reader")
    again.wait_for_line("waiting for approval")
    admin(registry, "grant", "rebooter")
    assert again.finish() == 0, again.stderr

    out = tmp_path / "out"
    assert "new EC P-256" in first.stdout and "new" not in again.stdout
    assert "generated" in first.stdout and "generated" not in again.stdout
    password = (out / "rebooter.password").read_text().strip()
    assert whoami(registry, out, "rebooter", password=password).json["roles"] == ["reader"]


@pytest.mark.parametrize("options, complaint", [
    (["--permission", "mqtt:read"], "CONTEXT:OPERATION:RESOURCE"),
    (["--ca-fingerprint", "abc"], "64 hex digits"),
    (["--timeout", "-1"], "positive number of seconds"),
    (["--username", "../etc/passwd"], "cannot be a file name"),
])
def test_unusable_options_are_usage_errors(registry, enroll, options, complaint):
    run = enroll(registry, "typo", *options)
    assert run.finish() == 2
    assert complaint in run.stderr


def test_unusable_keys_and_urls_are_usage_errors_before_any_request(registry, enroll, tmp_path):
    weak = tmp_path / "weak.pem"
    weak.write_bytes(key_pem(make_key("rsa1024")))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    plain = enroll(registry, "typo", "--url", registry.url.replace("https", "http"))
    short = enroll(registry, "typo", "--key", str(weak))
    unreadable = enroll(registry, "typo", "--key", str(garbage))

    assert [run.finish() for run in (plain, short, unreadable)] == [2, 2, 2]
    assert "https://" in plain.stderr
    assert "1024 bits" in short.stderr
    assert "no PEM private key" in unreadable.stderr
    assert not (tmp_path / "out").exists()


def test_a_request_the_registry_finds_invalid_exits_1_with_its_reason(registry, enroll):
    admin(registry, "open")
    run = enroll(registry, "sloppy", "--permission", "mqtt:readAll:plant/#")

    assert run.finish() == 1
    assert run.stderr.count("\n") == 1
    assert "(400)" in run.stderr and "permissions[0].operation" in run.stderr
    assert registry.status_of("sloppy") is None


@pytest.mark.parametrize("entry", ["main.py", "client"])
def test_the_tool_runs_without_qt_or_the_server_packages_trusting_a_ca_file(registry, enroll, tmp_path, entry):
    admin(registry, "lock")
    (tmp_path / "registry-ca.pem").write_text(admin(registry, "ca", "--pem"))
    run = enroll(registry, "light", "--timeout", "1", "--ca-file", str(tmp_path / "registry-ca.pem"),
                 fingerprint=None, isolated_entry=entry)

    assert run.finish() == 4, run.stderr
    assert "waiting for the registry to open" in run.stdout


def test_a_ca_file_the_server_certificate_does_not_chain_to_exits_5(registry, enroll, tmp_path):
    admin(registry, "open")
    (tmp_path / "impostor-ca.pem").write_bytes(self_signed_ca("Impostor CA").public_bytes(serialization.Encoding.PEM))
    run = enroll(registry, "cautious", "--ca-file", str(tmp_path / "impostor-ca.pem"), fingerprint=None)

    assert run.finish() == 5
    assert "does not verify against the trusted CA" in run.stderr
    assert registry.status_of("cautious") is None


def test_it_survives_the_server_restarting_while_it_polls(tmp_path, enroll):
    registry = Registry(tmp_path / "restarting")
    registry.folder.mkdir()
    registry.start()
    try:
        admin(registry, "open")
        # The fingerprint as a person might type it: upper case, with colons.
        typed = ":".join(pinned_fingerprint(registry)[i:i + 2] for i in range(0, 64, 2)).upper()
        key_file = tmp_path / "device.pem"
        key_file.write_bytes(key_pem(make_key("ed25519")))
        run = enroll(registry, "survivor", "--key", str(key_file), fingerprint=typed, password="from the environment")
        run.wait_for_line("waiting for approval")

        registry.stop()
        run.wait_for_line("cannot reach the registry")
        registry.start()
        admin(registry, "grant", "survivor")

        assert run.finish() == 0, run.stderr
        lines = run.stdout.splitlines()
        unreachable = next(i for i, line in enumerate(lines) if "cannot reach the registry" in line)
        assert any("waiting for approval" in line for line in lines[:unreachable])
        assert lines[-2].startswith("granted:")
        out = tmp_path / "out"
        certificate = x509.load_pem_x509_certificate((out / "survivor.crt").read_bytes())
        device_key = serialization.load_pem_private_key(key_file.read_bytes(), None)
        assert certificate.public_key() == device_key.public_key()
        assert key_fingerprint(out / "survivor.key") == key_fingerprint(key_file)
        assert whoami(registry, out, "survivor", with_certificate=True).json["authenticatedBy"] == "certificate"
        assert whoami(registry, out, "survivor", password="from the environment").status == 200
        assert not (out / "survivor.password").exists()
        assert "from the environment" not in run.stdout + run.stderr
    finally:
        registry.stop()
