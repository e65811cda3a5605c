"""CSRs of every accepted kind, and a catalogue of bad ones, sent over HTTPS.

cryptography loads several of the bad ones without complaint (a second PEM
block, trailing junk, a bad signature, a weak hash); the service must catch
each itself and say what is wrong."""

from __future__ import annotations

import base64
import hashlib
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from server.csr import check_csr
from storage.models import AuditEntry, Registration
from tests.helpers import handmade_csr, make_csr, make_key

# cryptography warns when it parses the empty Common Name it was asked to test.
pytestmark = pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")

ALICE = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])


@pytest.fixture
def opened(service):
    service.open("tester")
    return service


def register_csr(client, csr: str, username: str = "alice"):
    return client.register({"username": username, "password": "s3cret-pw", "csr": csr})


@pytest.mark.parametrize("kind, description, signature", [
    ("ec", "EC P-256", "ecdsa-with-SHA256"),
    ("p384", "EC P-384", "ecdsa-with-SHA256"),
    ("p521", "EC P-521", "ecdsa-with-SHA256"),
    ("ed25519", "Ed25519", "Ed25519"),
    ("rsa2048", "RSA 2048", "sha256WithRSAEncryption"),
])
def test_every_accepted_key_type_is_pending(opened, client, kind, description, signature):
    csr, key = make_csr("alice", make_key(kind))
    reply = register_csr(client, csr)
    assert reply.status == 202, reply.body
    review = opened.details("alice").csr
    assert review.key_description == description
    assert review.signature_algorithm == signature
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert reply.json["fingerprint"] == review.key_fingerprint == hashlib.sha256(spki).hexdigest()


def test_rsa_pss_and_stronger_hashes_are_accepted(opened, client):
    pss = x509.CertificateSigningRequestBuilder().subject_name(ALICE).sign(
        make_key("rsa2048"), hashes.SHA256(),
        rsa_padding=padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH))
    assert register_csr(client, pss.public_bytes(serialization.Encoding.PEM).decode()).status == 202
    assert opened.details("alice").csr.signature_algorithm == "RSASSA-PSS with SHA256"
    csr, _ = make_csr("bob", digest=hashes.SHA512())
    assert register_csr(client, csr, "bob").status == 202


def _tampered() -> str:
    csr, _ = make_csr("alice")
    der = bytearray(x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)).decode() + \
        "-----END CERTIFICATE REQUEST-----\n"


def _two_common_names() -> str:
    return make_csr("alice", extra_subject=[x509.NameAttribute(NameOID.COMMON_NAME, "alice")])[0]


def _empty_common_name() -> str:
    return make_csr(None, extra_subject=[x509.NameAttribute(NameOID.COMMON_NAME, "", _validate=False)])[0]


def _sha1() -> str:
    key = make_key("ec")
    return handmade_csr(ALICE, key.public_key(), "1.2.840.10045.4.1",
                        lambda tbs: key.sign(tbs, ec.ECDSA(hashes.SHA1())))


def _md5() -> str:
    key = make_key("rsa2048")
    return handmade_csr(ALICE, key.public_key(), "1.2.840.113549.1.1.4",
                        lambda tbs: key.sign(tbs, padding.PKCS1v15(), hashes.MD5()))


def _rsa_16384() -> str:
    # Nobody waits minutes for a real 16384-bit key: the check must refuse the
    # size before it ever looks at the signature, so a key without a private
    # half and a junk signature are enough.
    huge = rsa.RSAPublicNumbers(65537, (1 << 16383) | 0xF0F1).public_key()
    return handmade_csr(ALICE, huge, "1.2.840.113549.1.1.11", lambda tbs: b"\x01" * 2048)


def _der_as_text() -> str:
    csr, _ = make_csr("alice")
    return x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER).decode("latin-1")


BAD_CSRS = [
    ("wrong CN", lambda: make_csr("mallory")[0], "the CSR's Common Name 'mallory' is not the username 'alice'"),
    ("CN in other case", lambda: make_csr("Alice")[0], "the CSR's Common Name 'Alice' is not the username 'alice'"),
    ("no CN", lambda: make_csr(None, extra_subject=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")])[0],
     "the CSR's subject has no Common Name; it must be the username"),
    ("empty CN", _empty_common_name, "the CSR's Common Name is empty; it must be the username"),
    ("two CNs", _two_common_names, "the CSR's subject has more than one Common Name"),
    ("CN with newline", lambda: make_csr("alice\n")[0],
     "the CSR's Common Name 'alice\\n' is not the username 'alice'"),
    ("second PEM block", lambda: make_csr("alice")[0] + make_csr("alice")[0],
     "the CSR holds more than one PEM block; send exactly one"),
    ("trailing junk", lambda: make_csr("alice")[0] + "junk\n", "the CSR has text before or after its PEM block"),
    ("leading junk", lambda: "hello\n" + make_csr("alice")[0], "the CSR has text before or after its PEM block"),
    ("RSA 1024", lambda: make_csr("alice", make_key("rsa1024"))[0],
     "the CSR's RSA key has 1024 bits; accepted are 2048 to 8192"),
    ("RSA 16384", _rsa_16384, "the CSR's RSA key has 16384 bits; accepted are 2048 to 8192"),
    ("DSA", lambda: make_csr("alice", make_key("dsa"))[0],
     "the CSR's key type (DSA) is not accepted; accepted are RSA, EC P-256/P-384/P-521 and Ed25519"),
    ("P-192", lambda: make_csr("alice", make_key("p192"))[0],
     "the CSR's EC key is on curve secp192r1; accepted are P-256, P-384 and P-521"),
    ("SHA-1", _sha1, "the CSR is signed with SHA1; SHA-256 or stronger is required"),
    ("MD5", _md5, "the CSR is signed with MD5; SHA-256 or stronger is required"),
    ("SHA-224", lambda: make_csr("alice", digest=hashes.SHA224())[0],
     "the CSR is signed with SHA224; SHA-256 or stronger is required"),
    ("tampered signature", _tampered, "the CSR's signature does not verify"),
    ("DER instead of PEM", _der_as_text, "the CSR is not a PEM block '-----BEGIN CERTIFICATE REQUEST-----'"),
    ("garbage", lambda: "garbage", "the CSR is not a PEM block '-----BEGIN CERTIFICATE REQUEST-----'"),
    ("bad base64", lambda: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB@@==\n-----END CERTIFICATE REQUEST-----\n",
     "the CSR is not a PEM block '-----BEGIN CERTIFICATE REQUEST-----'"),
    ("not ASN.1", lambda: "-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE REQUEST-----\n",
     "the CSR cannot be parsed as a PKCS#10 certificate request"),
    ("too long", lambda: "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 20000,
     "the CSR is longer than 16384 characters"),
]


@pytest.mark.parametrize("make, message", [case[1:] for case in BAD_CSRS], ids=[case[0] for case in BAD_CSRS])
def test_bad_csr_is_a_400_saying_what_is_wrong(opened, client, make, message):
    audit_before = AuditEntry.select().count()
    reply = register_csr(client, make())
    assert reply.status == 400, reply.body
    assert reply.json["errors"] == [{"field": "csr", "message": message}]
    assert Registration.select().count() == 0
    assert AuditEntry.select().count() == audit_before


def test_a_certificate_is_not_a_csr(opened, client):
    reply = register_csr(client, opened.ca.certificate_pem)
    assert reply.status == 400
    assert reply.json["errors"][0]["message"] == "the CSR is not a PEM block '-----BEGIN CERTIFICATE REQUEST-----'"


def test_review_shows_subject_attribute_by_attribute_and_sans(opened, client):
    csr, _ = make_csr(
        "alice",
        extra_subject=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Plant 4"),
                       x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")],
        sans=[x509.DNSName("press-7.plant.local"), x509.IPAddress(ipaddress.ip_address("10.4.0.7")),
              x509.UniformResourceIdentifier("urn:plant:press:7")],
        extensions=[(x509.BasicConstraints(ca=True, path_length=None), True)],
    )
    assert register_csr(client, csr).status == 202
    details = opened.details("alice")
    review = details.csr
    assert review.subject == (("CN", "alice"), ("O", "Plant 4"), ("C", "DE"))
    assert [str(san) for san in review.sans] == ["DNS:press-7.plant.local", "IP:10.4.0.7", "URI:urn:plant:press:7"]
    assert review.requested_extensions == ("basicConstraints CA:TRUE",)
    assert details.plan.common_name == "alice"
    assert details.plan.sans == ()  # SANs are issued only as the admin approves them


@pytest.mark.parametrize("name, issued", [
    (x509.DNSName("alice.plant.example"), True),
    (x509.DNSName("ali\x1bce.plant"), False),
    (x509.DNSName("*.plant.example"), False),
    (x509.DNSName("-bad-.plant"), False),
    (x509.RFC822Name("alice@plant.example"), True),
    (x509.RFC822Name("ali ce@plant.example"), False),
    (x509.UniformResourceIdentifier("urn:plant:alice"), True),
    (x509.UniformResourceIdentifier("no scheme here"), False),
])
def test_only_valid_sans_are_offered_for_issuing(name, issued):
    pem, _ = make_csr("alice", sans=[name])
    review = check_csr(pem, "alice").review
    assert bool(review.sans) == issued
    assert bool(review.other_sans) != issued  # shown for the record, never issued


def test_subject_attributes_are_shown_by_their_names_not_dotted_oids(opened, client):
    unknown = x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")
    csr, _ = make_csr("alice", extra_subject=[
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@plant.example"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "PRS-0007"),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATDE-123"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Bavaria"),
        x509.NameAttribute(unknown, "whatever")])
    assert register_csr(client, csr).status == 202
    assert [name for name, _ in opened.details("alice").csr.subject] == [
        "CN", "emailAddress", "serialNumber", "organizationIdentifier", "ST",
        "1.3.6.1.4.1.99999.1"]  # an attribute nobody named stays recognisable by its OID
