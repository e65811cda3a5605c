"""Authentication after the grant (password and mutual TLS), and the server's TLS."""

from __future__ import annotations

import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from server.ca import CA_CERT_FILE, CertificateAuthority
from tests.helpers import Client, key_pem, make_csr
from tests.postgres import both_databases

pytestmark = both_databases

PASSWORD = "s3cret-pw"
WHOAMI = "/api/auth/whoami"


def basic(username: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def granted_alice(service, client, tmp_path):
    """alice, granted with one role and one permission, her key and certificate on disk."""
    service.open("tester")
    csr, key = make_csr("alice")
    request = {"username": "alice", "password": PASSWORD, "csr": csr, "roles": ["reader"],
               "permissions": [{"resource": "plant/#", "operation": "read", "context": "mqtt"}]}
    client.register(request)
    service.grant("alice", "tester")
    (tmp_path / "alice.key").write_bytes(key_pem(key))
    (tmp_path / "alice.crt").write_text(client.register(request).json["certificate"])
    return tmp_path / "alice.crt", tmp_path / "alice.key"


def test_whoami_by_password(granted_alice, client):
    reply = client.request("GET", WHOAMI, headers=basic("alice", PASSWORD))
    assert reply.status == 200
    assert reply.json == {"username": "alice", "roles": ["reader"],
                          "permissions": [{"resource": "plant/#", "operation": "read", "context": "mqtt"}],
                          "authenticatedBy": "password"}


def test_whoami_by_certificate_over_mutual_tls(granted_alice, server, tmp_path):
    mutual = Client(server.url, tmp_path / "data" / CA_CERT_FILE, cert=granted_alice)
    reply = mutual.request("GET", WHOAMI)
    assert reply.status == 200
    assert reply.json["username"] == "alice"
    assert reply.json["authenticatedBy"] == "certificate"


@pytest.mark.parametrize("headers", [
    {},
    basic("alice", "wrong-password"),
    basic("nobody", PASSWORD),
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Basic " + "//79"},  # decodes to bytes that are not UTF-8
    {"Authorization": "Bearer abc"},
])
def test_whoami_refuses_everything_else_with_401(granted_alice, client, headers):
    reply = client.request("GET", WHOAMI, headers=headers)
    assert reply.status == 401
    assert reply.json["status"] == "error"
    assert reply.headers["www-authenticate"].startswith("Basic")


def test_a_pending_client_is_not_authenticated(service, client):
    service.open("tester")
    client.register({"username": "bob", "password": PASSWORD})
    assert client.request("GET", WHOAMI, headers=basic("bob", PASSWORD)).status == 401


def test_delete_stops_password_and_certificate_at_once(granted_alice, service, client, server, tmp_path):
    mutual = Client(server.url, tmp_path / "data" / CA_CERT_FILE, cert=granted_alice)
    assert mutual.request("GET", WHOAMI).status == 200
    service.delete("alice", "tester")
    assert client.request("GET", WHOAMI, headers=basic("alice", PASSWORD)).status == 401
    assert mutual.request("GET", WHOAMI).status == 401
    detail = service.audit_log(limit=1)[0]
    assert detail.action == "delete" and "revoked" in detail.detail


def test_a_certificate_from_another_ca_does_not_get_through(service, server, tmp_path):
    stranger_ca = CertificateAuthority.create(tmp_path, service.clock())
    csr, key = make_csr("alice")
    plan = stranger_ca.plan_client_certificate("alice", "EC", (), service.clock())
    forged = stranger_ca.issue_client_certificate(x509.load_pem_x509_csr(csr.encode()).public_key(), plan)
    (tmp_path / "forged.crt").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "forged.key").write_bytes(key_pem(key))
    mutual = Client(server.url, tmp_path / "data" / CA_CERT_FILE,
                    cert=(tmp_path / "forged.crt", tmp_path / "forged.key"))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        mutual.request("GET", WHOAMI)


def test_ca_endpoint_serves_the_ca_pem(service, client):
    reply = client.request("GET", "/api/client-registry/ca")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/x-pem-file"
    assert reply.body.decode() == service.ca.certificate_pem


def test_server_certificate_is_issued_by_the_ca_for_local_names(service, server):
    pem = ssl.get_server_certificate(("127.0.0.1", server.port))
    certificate = x509.load_pem_x509_certificate(pem.encode())
    certificate.verify_directly_issued_by(service.ca.certificate)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert socket.gethostname() in names.get_values_for_type(x509.DNSName)
    addresses = {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1"} <= addresses


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_below_1_2_is_refused(server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Security level 0 lets this client really offer TLS 1.1, so that it is
    # the server that refuses.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                tls.recv(1)


def test_plain_http_on_the_https_port_gets_no_answer_but_does_no_harm(server, client):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/client-registry/ca HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(10)
        try:
            raw.recv(100)
        except (ConnectionError, TimeoutError):
            pass
    assert client.request("GET", "/api/client-registry/ca").status == 200
