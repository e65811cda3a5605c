"""A certificate's life: kept, revoked, on the CRL, renewed; checked with real openssl over real HTTPS."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from server.ca import CA_CERT_FILE
from server.outcomes import Refused
from tests.helpers import Client, key_pem, make_csr
from wiring import CRL_FILE, open_registry
from tests.postgres import both_databases

pytestmark = both_databases

PASSWORD = "s3cret-pw"
CRL = "/api/client-registry/crl"
RENEW = "/api/client-registry/renew"
WHOAMI = "/api/auth/whoami"


def basic(username: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


class Device:
    """An enrolled agent: its request, key and certificate on disk."""

    def __init__(self, service, client: Client, folder: Path, username: str, *, csr: bool = True):
        self.service, self.client, self.username = service, client, username
        self.request = {"username": username, "password": PASSWORD}
        self.key_file, self.cert_file = folder / f"{username}.key", folder / f"{username}.crt"
        if csr:
            self.request["csr"], key = make_csr(username)
            self.key_file.write_bytes(key_pem(key))
        assert client.register(self.request).status == 202
        service.grant(username, "tester")
        granted = client.register(self.request).json
        if csr:
            self.cert_file.write_text(granted["certificate"])

    @property
    def mtls(self) -> Client:
        return Client(self.client_url, self.ca_file, cert=(self.cert_file, self.key_file))

    def renew(self, *, by: str = "certificate", key=None) -> "object":
        csr, key = make_csr(self.username, key)
        client = self.mtls if by == "certificate" else self.client
        headers = {"Content-Type": "application/json", **(basic(self.username) if by == "password" else {})}
        reply = client.request("POST", RENEW, json.dumps({"csr": csr}).encode(), headers)
        if reply.status == 201:
            self.key_file.write_bytes(key_pem(key))
            self.cert_file.write_text(reply.json["certificate"])
        return reply


@pytest.fixture
def device(service, client, server, tmp_path):
    service.open("tester")

    def enrol(username: str, **options) -> Device:
        enrolled = Device(service, client, tmp_path, username, **options)
        enrolled.client_url, enrolled.ca_file = server.url, tmp_path / "data" / CA_CERT_FILE
        return enrolled
    return enrol


def openssl_verify(data: Path, certificate: Path, crl: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", str(data / CA_CERT_FILE),
                           "-CRLfile", str(crl), str(certificate)], capture_output=True, text=True, timeout=30)


def served_crl(client: Client) -> x509.CertificateRevocationList:
    reply = client.request("GET", CRL)
    assert reply.status == 200 and reply.headers["content-type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(reply.body)


def crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_openssl_refuses_deleted_and_revoked_certificates_and_accepts_current_ones(device, service, client,
                                                                                  tmp_path):
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    service.revoke("alice", "tester", "keyCompromise")
    service.delete("bob", "tester")
    data = tmp_path / "data"
    crl_file = tmp_path / "served.crl.pem"
    crl_file.write_text(subprocess.run(["openssl", "crl", "-inform", "DER"], input=client.request("GET", CRL).body,
                                       capture_output=True, timeout=30).stdout.decode())
    for crl in (crl_file, data / CRL_FILE):  # the one served and the one kept in the data folder
        for revoked in (alice, bob):
            result = openssl_verify(data, revoked.cert_file, crl)
            assert result.returncode != 0 and "certificate revoked" in result.stdout + result.stderr
        assert openssl_verify(data, carol.cert_file, crl).returncode == 0
    assert oct((data / CRL_FILE).stat().st_mode & 0o777) == "0o600"  # like every file of the data folder


def test_the_crl_is_a_signed_v2_crl_whose_number_grows_with_each_revocation(device, service, client):
    device("alice")
    device("bob")
    first = served_crl(client)
    service.revoke("alice", "tester", "affiliationChanged")
    second = served_crl(client)
    service.delete("bob", "tester")
    third = served_crl(client)
    assert crl_number(first) < crl_number(second) < crl_number(third)
    assert third.is_signature_valid(service.ca.certificate.public_key())
    assert third.next_update_utc - third.last_update_utc <= timedelta(hours=24)
    third.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    reasons = {format(entry.serial_number, "x"): entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
               for entry in third}
    listed = {view.username: view for view in service.certificates()}
    assert reasons == {listed["alice"].serial: x509.ReasonFlags.affiliation_changed,
                       listed["bob"].serial: x509.ReasonFlags.cessation_of_operation}


def test_a_revoked_certificate_leaves_the_crl_once_it_has_expired(device, service, clock):
    def listed_on_the_crl() -> set[str]:
        return {format(entry.serial_number, "x") for entry in x509.load_der_x509_crl(service.crl().der)}

    device("alice")
    clock.advance(200 * 86400)
    service.open("tester")
    device("bob")
    service.revoke("alice", "tester", "keyCompromise")
    service.revoke("bob", "tester", "superseded")
    serials = {view.username: view.serial for view in service.certificates()}
    assert listed_on_the_crl() == {serials["alice"], serials["bob"]}
    clock.advance(200 * 86400)  # alice's certificate (365 days) has expired; bob's has not
    assert service.reissue_crl_if_due() is not None
    assert listed_on_the_crl() == {serials["bob"]}


def test_the_crl_is_reissued_before_its_next_update_passes(service, clock):
    first = service.crl()
    assert service.reissue_crl_if_due() is None  # fresh: nothing to do
    clock.advance(13 * 3600)
    again = service.reissue_crl_if_due()
    assert again is not None and again.number == first.number + 1 and service.crl().number == again.number


def test_admin_certificates_keep_a_deleted_clients_certificates_and_ids_are_never_reused(device, service, client):
    device("alice")
    first_id = next(row.id for row in service.registrations() if row.username == "alice")
    service.delete("alice", "tester")
    device("alice")  # the name is free again: a new client
    assert [row.id for row in service.registrations()] == [first_id + 1]
    states = [(view.username, view.state, view.revocation_reason) for view in service.certificates("alice")]
    assert states == [("alice", "revoked", "cessationOfOperation"), ("alice", "current", None)]
    assert [view.state for view in service.details("alice").certificates] == ["current"]


def test_revoke_keeps_the_client_granted_and_refuses_when_there_is_nothing_current(device, service, client):
    alice = device("alice")
    service.revoke("alice", "tester")
    assert alice.mtls.request("GET", WHOAMI).status == 401
    assert client.request("GET", WHOAMI, headers=basic("alice")).status == 200
    with pytest.raises(Refused, match="alice has no current certificate"):
        service.revoke("alice", "tester")
    device("dave", csr=False)
    with pytest.raises(Refused, match="dave has no current certificate"):
        service.revoke("dave", "tester")
    with pytest.raises(Refused, match="unknown reason"):
        service.revoke("alice", "tester", "because")


def test_renewal_by_mutual_tls_while_locked_supersedes_the_old_certificate(device, service, client):
    alice = device("alice")
    old = alice.cert_file.read_text()
    old_client = alice.mtls
    service.lock("tester")
    reply = alice.renew()
    assert reply.status == 201
    assert {key: reply.json[key] for key in ("status", "username")} == {"status": "granted", "username": "alice"}
    assert reply.json["certificate"] != old and reply.json["caCertificate"] == service.ca.certificate_pem
    new = x509.load_pem_x509_certificate(reply.json["certificate"].encode())
    new.verify_directly_issued_by(service.ca.certificate)
    assert new.subject.rfc4514_string() == "CN=alice"
    assert old_client.request("GET", WHOAMI).status == 401  # the old certificate no longer authenticates
    assert alice.mtls.request("GET", WHOAMI).json["authenticatedBy"] == "certificate"
    assert client.register(alice.request).json["certificate"] == reply.json["certificate"]  # polls: the newest
    assert [(view.state, view.revocation_reason) for view in service.certificates("alice")] == [
        ("revoked", "superseded"), ("current", None)]
    assert service.audit_log(limit=1)[0].action == "renew"


def test_renewal_by_password_after_a_revocation(device, service):
    alice = device("alice")
    service.revoke("alice", "tester", "keyCompromise")
    service.lock("tester")
    assert alice.renew(by="certificate").status == 401  # a revoked certificate proves nothing
    assert alice.renew(by="password").status == 201
    assert alice.mtls.request("GET", WHOAMI).status == 200


def test_renewal_keeps_the_sans_granted_at_the_grant(service, client, server, tmp_path):
    service.open("tester")
    csr, _ = make_csr("alice", sans=[x509.DNSName("alice.plant")])
    client.register({"username": "alice", "password": PASSWORD, "csr": csr})
    service.grant("alice", "tester", sans=service.details("alice").csr.sans)
    renewed = client.request("POST", RENEW, json.dumps({"csr": make_csr("alice")[0]}).encode(),
                             {"Content-Type": "application/json", **basic("alice")})
    certificate = x509.load_pem_x509_certificate(renewed.json["certificate"].encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["alice.plant"]


@pytest.mark.parametrize("case, status, message", [
    ("no credentials", 401, "authentication required"),
    ("wrong password", 401, "authentication required"),
    ("pending", 403, "only a granted client can renew"),
    ("no CSR at the grant", 403, "granted without a CSR"),
    ("another client's key", 409, "already registered under another username"),
    ("CN is not the username", 400, "csr: the CSR's Common Name"),
])
def test_renewal_refusals(device, service, client, case, status, message):
    device("alice")
    device("nocsr", csr=False)
    bob_csr, bob_key = make_csr("bob")
    client.register({"username": "bob", "password": PASSWORD, "csr": bob_csr})  # pending
    csr, headers = make_csr("alice")[0], basic("alice")
    if case == "no credentials":
        headers = {}
    elif case == "wrong password":
        headers = basic("alice", "not-it-at-all")
    elif case == "pending":
        csr, headers = bob_csr, basic("bob")
    elif case == "no CSR at the grant":
        csr, headers = make_csr("nocsr")[0], basic("nocsr")
    elif case == "another client's key":
        csr = make_csr("alice", bob_key)[0]
    else:
        csr = make_csr("mallory")[0]
    reply = client.request("POST", RENEW, json.dumps({"csr": csr}).encode(),
                           {"Content-Type": "application/json", **headers})
    assert reply.status == status and message in reply.json["message"], reply.json
    assert [view.state for view in service.certificates("alice")] == ["current"]


def test_public_url_names_the_crl_distribution_point(tmp_path, clock, database_url):
    service = open_registry(tmp_path / "data", clock, public_url="https://registry.plant.example:8443",
                            database_url=database_url)
    service.open("tester")
    from server.validation import parse_registration

    service.register(parse_registration(json.dumps(
        {"username": "alice", "password": PASSWORD, "csr": make_csr("alice")[0]}).encode()), "10.0.0.1")
    service.grant("alice", "tester")
    pem = service.details("alice").certificate_pem
    points = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value
    assert [name.value for point in points for name in point.full_name] == [
        "https://registry.plant.example:8443/api/client-registry/crl"]


def test_a_decision_names_the_request_that_was_reviewed(service, client):
    """An impostor who registers a deleted name while its review is open is not granted."""
    service.open("tester")
    client.register({"username": "alice", "password": PASSWORD, "csr": make_csr("alice")[0]})
    reviewed = service.details("alice").reviewed
    service.delete("alice", "tester")
    client.register({"username": "alice", "password": "impostor-pw", "csr": make_csr("alice")[0]})
    for decide in (lambda: service.grant("alice", "tester", reviewed=reviewed),
                   lambda: service.reject("alice", "tester", reviewed=reviewed)):
        with pytest.raises(Refused, match="that was reviewed was deleted, expired or replaced meanwhile"):
            decide()
    assert service.details("alice").status == "pending"
    assert service.details("alice").reviewed.id > reviewed.id
    service.grant("alice", "tester", reviewed=service.details("alice").reviewed)
    assert service.details("alice").status == "granted"
