"""EST (RFC 7030) with curl and openssl as the client, over real HTTPS against the real server.

curl and openssl are the reference EST client here (no EST client installs from
PyPI or Debian): each test makes its keys and CSRs with ``openssl``, talks with
``curl`` and checks the answers with ``openssl pkcs7`` and ``openssl verify``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.ca import CA_CERT_FILE
from tests.helpers import Reply
from tests.processes import ROOT
from tests.postgres import both_databases

pytestmark = both_databases

EST = "/.well-known/est"
TIMEOUT = 30


def run(*command: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, input=input, capture_output=True, timeout=TIMEOUT)


class EstClient:
    """curl against the server, trusting only the registry's CA; openssl for keys and CSRs."""

    def __init__(self, url: str, ca_file: Path, folder: Path):
        self.url, self.ca_file, self.folder = url, ca_file, folder

    def key(self, name: str) -> Path:
        path = self.folder / f"{name}.key"
        assert run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-out", str(path)).returncode == 0
        return path

    def csr(self, key: Path, subject: str) -> Path:
        """Base64 of the DER CSR with line breaks, as ``openssl base64`` writes it: EST's request body."""
        path = self.folder / f"{key.stem}-{len(list(self.folder.iterdir()))}.csr.b64"
        der = run("openssl", "req", "-new", "-key", str(key), "-subj", subject, "-outform", "DER")
        assert der.returncode == 0, der.stderr
        path.write_bytes(run("openssl", "base64", input=der.stdout).stdout)
        return path

    def request(self, path: str, *options: str) -> Reply:
        headers, body = self.folder / "headers", self.folder / "body"
        done = run("curl", "--silent", "--show-error", "--cacert", str(self.ca_file), "-D", str(headers),
                   "-o", str(body), "-w", "%{http_code}", *options, f"{self.url}{EST}/{path}")
        assert done.returncode == 0, done.stderr
        lines = headers.read_text().splitlines()[1:]
        return Reply(int(done.stdout), {name.strip().lower(): value.strip() for name, _, value in
                                        (line.partition(":") for line in lines if ":" in line)},
                     body.read_bytes() if body.exists() else b"")

    def enroll(self, csr: Path, credentials: str | None, *options: str, path: str = "simpleenroll") -> Reply:
        auth = ("-u", credentials) if credentials else ()
        return self.request(path, *auth, "-H", "Content-Type: application/pkcs10", "--data-binary", f"@{csr}",
                            *options)

    def certificates(self, reply: Reply) -> str:
        """The PEM certificates of a base64 certs-only PKCS#7, read by ``openssl pkcs7 -print_certs``."""
        der = run("openssl", "base64", "-d", input=reply.body).stdout
        printed = run("openssl", "pkcs7", "-inform", "DER", "-print_certs", input=der)
        assert printed.returncode == 0, printed.stderr
        return printed.stdout.decode()

    def save(self, reply: Reply, name: str) -> Path:
        path = self.folder / name
        path.write_text(self.certificates(reply))
        return path

    def verify(self, certificate: Path, *options: str) -> subprocess.CompletedProcess:
        return run("openssl", "verify", "-CAfile", str(self.ca_file), *options, str(certificate))


@pytest.fixture
def est(server, tmp_path) -> EstClient:
    folder = tmp_path / "est"
    folder.mkdir()
    return EstClient(server.url, tmp_path / "data" / CA_CERT_FILE, folder)


def assert_one_line_of_text(reply: Reply) -> None:
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.body.decode().endswith("\n") and reply.body.decode().count("\n") == 1


def test_cacerts_is_the_ca_as_a_certs_only_pkcs7_and_csrattrs_asks_for_nothing(est, service):
    reply = est.request("cacerts")

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/pkcs7-mime"
    assert reply.headers["content-transfer-encoding"] == "base64"
    ca = est.save(reply, "ca-from-est.pem")
    fingerprint = run("openssl", "x509", "-in", str(ca), "-outform", "DER").stdout
    assert run("openssl", "dgst", "-sha256", input=fingerprint).stdout.decode().split()[-1] == service.ca.fingerprint
    assert est.request("csrattrs").status == 204


def test_simpleenroll_follows_the_registration_table(est, service):
    key = est.key("gw01")
    csr = est.csr(key, "/CN=gw01")

    anonymous = est.enroll(csr, None)
    assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Basic realm=")
    locked = est.enroll(csr, "gw01:gw01-password")
    assert (locked.status, locked.headers["retry-after"]) == (423, "10")
    assert_one_line_of_text(locked)

    service.open("tester")
    pending = est.enroll(csr, "gw01:gw01-password")
    assert pending.status == 202 and pending.headers["retry-after"].isdigit()
    assert int(pending.headers["retry-after"]) > 0
    for _ in range(2):  # the same request re-sent, then repeated (server.pending_requests): still pending
        assert est.enroll(csr, "gw01:gw01-password").status == 202
    changed = est.enroll(est.csr(key, "/CN=gw01"), "gw01:gw01-password")  # a new signature: another CSR
    assert changed.status == 409
    assert_one_line_of_text(changed)
    wrong = est.enroll(csr, "gw01:guessed-password")
    assert wrong.status == 401 and wrong.headers["www-authenticate"].startswith("Basic realm=")

    service.grant("gw01", "tester")
    granted = est.enroll(csr, "gw01:gw01-password")
    assert granted.status == 200
    assert granted.headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only"
    assert granted.headers["content-transfer-encoding"] == "base64"
    certificate = est.save(granted, "gw01.crt")
    assert "subject=CN=gw01" in est.certificates(granted) or "subject=CN = gw01" in est.certificates(granted)
    verified = est.verify(certificate)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert est.certificates(est.enroll(csr, "gw01:gw01-password")) == certificate.read_text()  # the same, each time
    assert est.enroll(csr, "gw01:guessed-password").status == 401

    [row] = service.registrations()
    assert (row.username, row.enrolled_via) == ("gw01", "est")
    assert service.details("gw01").enrolled_via == "est"
    [request] = [entry for entry in service.audit_log() if entry.action == "request"]
    assert request.actor == "agent 127.0.0.1 (EST)"


def test_simpleenroll_refuses_a_cn_that_is_not_the_username_a_rejected_request_and_bad_bodies(est, service):
    service.open("tester")
    key = est.key("gw02")

    not_theirs = est.enroll(est.csr(key, "/CN=someone_else"), "gw02:gw02-password")
    assert not_theirs.status == 400 and b"Common Name" in not_theirs.body
    assert_one_line_of_text(not_theirs)
    assert service.registrations() == []

    csr = est.csr(key, "/CN=gw02")
    assert est.enroll(csr, "gw02:gw02-password").status == 202
    service.reject("gw02", "tester", "not one of ours")
    rejected = est.enroll(csr, "gw02:gw02-password")
    assert (rejected.status, rejected.body) == (403, b"not one of ours\n")

    assert est.request("simpleenroll", "-u", "gw03:gw03-password", "-H", "Content-Type: application/json",
                       "--data-binary", f"@{csr}").status == 415
    assert est.request("simpleenroll", "-u", "gw03:gw03-password", "-H", "Content-Type: application/pkcs10",
                       "--data-binary", "not base64!").status == 400
    assert est.request("simpleenroll", "-u", "gw03:gw03-password", "-H", "Content-Type: application/pkcs10",
                       "--data-binary", "A" * (64 * 1024 + 1)).status == 413
    # The same CSR with a Content-Transfer-Encoding header and on one line: the same request.
    one_line = est.folder / "one-line.b64"
    one_line.write_bytes(b"".join(csr.read_bytes().split()))
    again = est.enroll(one_line, "gw02:gw02-password", "-H", "Content-Transfer-Encoding: base64")
    assert again.status == 403


def admin_crl(data_dir: Path, database_url: str | None, into: Path) -> Path:
    """The CRL as ``main.py admin crl`` prints it."""
    database = ["--database", database_url] if database_url else []
    done = subprocess.run([sys.executable, "main.py", "admin", "--data-dir", str(data_dir), *database, "crl"], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    into.write_text(done.stdout)
    return into


def test_simplereenroll_over_mutual_tls_supersedes_the_old_certificate(est, service, tmp_path, database_url):
    service.open("tester")
    key = est.key("gw04")
    csr = est.csr(key, "/CN=gw04")
    assert est.enroll(csr, "gw04:gw04-password").status == 202
    service.grant("gw04", "tester")
    old = est.save(est.enroll(csr, "gw04:gw04-password"), "gw04-old.crt")
    service.lock("tester")  # renewal needs neither an open registry nor an administrator
    mtls = ("--cert", str(old), "--key", str(key))

    assert est.enroll(csr, None, path="simplereenroll").status == 401
    new_key = est.key("gw04-new")
    other_subject = est.enroll(est.csr(new_key, "/CN=gw04/O=Elsewhere"), None, *mtls, path="simplereenroll")
    assert other_subject.status == 403 and b"subject" in other_subject.body
    renewed = est.enroll(est.csr(new_key, "/CN=gw04"), None, *mtls, path="simplereenroll")

    assert renewed.status == 200
    assert renewed.headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only"
    new = est.save(renewed, "gw04-new.crt")
    assert new.read_text() != old.read_text()
    crl = admin_crl(tmp_path / "data", database_url, tmp_path / "crl.pem")
    revoked = est.verify(old, "-crl_check", "-CRLfile", str(crl))
    assert revoked.returncode != 0 and b"certificate revoked" in revoked.stdout + revoked.stderr
    current = est.verify(new, "-crl_check", "-CRLfile", str(crl))
    assert current.returncode == 0, current.stdout + current.stderr
    assert [(view.state, view.revocation_reason) for view in service.certificates("gw04")] == [
        ("revoked", "superseded"), ("current", None)]
    [renewal] = [entry for entry in service.audit_log() if entry.action == "renew"]
    assert renewal.actor == "agent 127.0.0.1 (EST)" and "by certificate" in renewal.detail
