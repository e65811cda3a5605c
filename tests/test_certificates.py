"""Issued client certificates: exactly SPEC's rules, verified by cryptography and by
``openssl verify``, whatever the CSR asked for."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from server.ca import CA_CERT_FILE
from server.csr import SubjectAltName
from server.service import Refused
from tests.helpers import make_csr, make_key

PASSWORD = "s3cret-pw"


def enrol(service, client, username="alice", key_kind="ec", **csr_options):
    csr, key = make_csr(username, make_key(key_kind), **csr_options)
    request = {"username": username, "password": PASSWORD, "csr": csr}
    assert client.register(request).status == 202
    return request, key


def issued(client, request) -> x509.Certificate:
    reply = client.register(request)
    assert reply.status == 201, reply.body
    return x509.load_pem_x509_certificate(reply.json["certificate"].encode())


@pytest.fixture
def opened(service):
    service.open("tester")
    return service


@pytest.mark.parametrize("key_kind, key_usage", [
    ("ec", {"digital_signature"}),
    ("ed25519", {"digital_signature"}),
    ("rsa2048", {"digital_signature", "key_encipherment"}),
])
def test_issued_certificate_follows_the_rules_exactly(opened, client, clock, key_kind, key_usage):
    request, key = enrol(opened, client, key_kind=key_kind)
    opened.grant("alice", "tester")
    certificate = issued(client, request)
    ca = opened.ca.certificate

    certificate.verify_directly_issued_by(ca)
    assert certificate.public_key() == key.public_key()
    assert certificate.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])
    assert certificate.issuer == ca.subject
    assert certificate.serial_number.bit_length() >= 64

    now = clock.now
    assert now - 600 <= certificate.not_valid_before_utc.timestamp() <= now - 60
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == timedelta(days=365, minutes=5)

    extensions = {extension.oid: extension for extension in certificate.extensions}
    assert set(extensions) == {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
                               ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
                               ExtensionOID.AUTHORITY_KEY_IDENTIFIER}
    assert extensions[ExtensionOID.BASIC_CONSTRAINTS].critical
    assert extensions[ExtensionOID.BASIC_CONSTRAINTS].value.ca is False
    usage = extensions[ExtensionOID.KEY_USAGE].value
    assert extensions[ExtensionOID.KEY_USAGE].critical
    assert {name for name in ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                              "key_agreement", "key_cert_sign", "crl_sign") if getattr(usage, name)} == key_usage
    assert list(extensions[ExtensionOID.EXTENDED_KEY_USAGE].value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert extensions[ExtensionOID.SUBJECT_KEY_IDENTIFIER].value == \
        x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert extensions[ExtensionOID.AUTHORITY_KEY_IDENTIFIER].value.key_identifier == \
        ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_verifies_the_issued_certificate_for_client_auth(opened, client, tmp_path):
    request, _ = enrol(opened, client)
    opened.grant("alice", "tester")
    pem = client.register(request).json["certificate"]
    (tmp_path / "alice.crt").write_text(pem)
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "data" / CA_CERT_FILE), "-purpose", "sslclient",
         str(tmp_path / "alice.crt")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")


def test_what_the_csr_asks_for_beyond_the_rules_is_never_issued(opened, client):
    request, _ = enrol(
        opened, client,
        extra_subject=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evil Corp"),
                       x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "root")],
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                           data_encipherment=True, key_agreement=True, key_cert_sign=True, crl_sign=True,
                           encipher_only=False, decipher_only=False), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CODE_SIGNING]), False),
        ],
        sans=[x509.DNSName("*.plant.local")],
    )
    review = opened.details("alice").csr
    assert set(review.requested_extensions) == {
        "basicConstraints CA:TRUE",
        "keyUsage digital_signature, content_commitment, key_encipherment, data_encipherment, key_agreement, "
        "key_cert_sign, crl_sign",
        "extendedKeyUsage serverAuth, codeSigning",
    }
    opened.grant("alice", "tester")  # SANs not approved
    certificate = issued(client, request)
    assert certificate.subject.rfc4514_string() == "CN=alice"
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert not usage.key_cert_sign and not usage.crl_sign
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_sans_are_issued_exactly_as_approved(opened, client):
    request, _ = enrol(opened, client, sans=[
        x509.DNSName("press-7.plant.local"),
        x509.IPAddress(ipaddress.ip_address("10.4.0.7")),
        x509.RFC822Name("ops@plant.local"),
    ])
    review = opened.details("alice").csr
    chosen = (review.sans[0], review.sans[1])
    opened.grant("alice", "tester", sans=chosen)
    certificate = issued(client, request)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [x509.DNSName("press-7.plant.local"), x509.IPAddress(ipaddress.ip_address("10.4.0.7"))]


def test_a_san_the_csr_did_not_ask_for_is_refused(opened, client):
    enrol(opened, client, sans=[x509.DNSName("press-7.plant.local")])
    with pytest.raises(Refused, match="the CSR does not ask for DNS:evil.example"):
        opened.grant("alice", "tester", sans=[SubjectAltName("DNS", "evil.example")])
    assert opened.details("alice").status == "pending"


def test_unticked_roles_and_permissions_are_not_granted(opened, client):
    permissions = [{"resource": "plant/#", "operation": "read", "context": "mqtt"},
                   {"resource": "/api", "operation": "readWrite", "context": "http"}]
    request = {"username": "alice", "password": PASSWORD, "roles": ["reader", "operator"],
               "permissions": permissions}
    client.register(request)
    requested = opened.details("alice").permissions
    opened.grant("alice", "tester", roles=["reader"], permissions=[requested[0]])
    granted = client.register(request).json
    assert granted["roles"] == ["reader"]
    assert granted["permissions"] == [permissions[0]]
    client.register({**request, "username": "bob"})
    with pytest.raises(Refused, match="did not ask for the role admin"):
        opened.grant("bob", "tester", roles=["admin"])


def test_grant_checks_the_fingerprint_given_by_the_admin(opened, client):
    enrol(opened, client)
    fingerprint = opened.details("alice").csr.key_fingerprint
    wrong = "00" * 32
    with pytest.raises(Refused, match=f"fingerprint mismatch: expected {wrong}, the request's key is {fingerprint}"):
        opened.grant("alice", "tester", expected_fingerprint=wrong)
    assert opened.details("alice").status == "pending"
    with_colons = ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    assert opened.grant("alice", "tester", expected_fingerprint=with_colons).done
    assert opened.details("alice").status == "granted"


def test_serials_never_repeat(opened, client):
    serials = set()
    for number in range(12):
        username = f"agent{number:02d}"
        enrol(opened, client, username)
        serials.add(opened.grant(username, "tester").certificate_serial)
    assert len(serials) == 12


def test_a_granted_request_polled_concurrently_gets_one_certificate(opened, client):
    request, _ = enrol(opened, client)
    opened.grant("alice", "tester")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: client.register(request), range(24)))
    assert {reply.status for reply in replies} == {201}
    assert len({reply.json["certificate"] for reply in replies}) == 1


def test_grant_is_refused_unless_pending(opened, client):
    enrol(opened, client)
    opened.grant("alice", "tester")
    with pytest.raises(Refused, match="alice is granted, not pending"):
        opened.grant("alice", "tester")
    with pytest.raises(Refused, match="there is no registration named 'nobody'"):
        opened.grant("nobody", "tester")


def test_client_certificate_never_outlives_the_ca(opened, client, clock):
    request, _ = enrol(opened, client)
    ca_expiry = opened.ca.certificate.not_valid_after_utc
    clock.advance((ca_expiry.timestamp() - clock.now) - 30 * 24 * 3600)  # a month before the CA expires
    opened.grant("alice", "tester")
    pem = opened.details("alice").certificate_pem
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert certificate.not_valid_after_utc == ca_expiry


def test_certificate_key_matches_what_openssl_computes_as_fingerprint(opened, client, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not installed")
    request, key = enrol(opened, client)
    (tmp_path / "alice.csr").write_text(request["csr"])
    pubkey = subprocess.run(["openssl", "req", "-in", str(tmp_path / "alice.csr"), "-pubkey", "-noout"],
                            capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey,
                         capture_output=True, check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, capture_output=True,
                            check=True, text=False).stdout.split()[0].decode()
    assert digest == opened.details("alice").csr.key_fingerprint
    assert key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo) == der
