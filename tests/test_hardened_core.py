"""The core's answers to the review's remaining findings (issue 13): lock-outs,
hard throttles, concurrent first requests, whoami's cost, the password cache,
costly CSRs, multi-valued RDNs; and TLS 1.2 with AEAD suites only."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from server.csr import check_csr
from server.limits import Limits
from server.passwords import VerifiedPasswords, hash_password
from server.web.json_api import registration_answer
from storage import close_db
from tests.helpers import handmade_csr, make_csr, make_key
from wiring import open_registry

JSON = "application/json"


def register(service, source: str, password: str, username: str = "press7", **fields) -> int:
    body = json.dumps({"username": username, "password": password, **fields}).encode()
    return registration_answer(service, body, JSON, source).status


def test_wrong_guesses_from_many_addresses_never_lock_out_the_real_agent(service):
    service.open("tester")
    assert register(service, "10.0.0.7", "the-real-one") == 202
    service.grant("press7", "tester")
    assert register(service, "10.0.0.7", "the-real-one") == 201
    with ThreadPoolExecutor(4) as pool:  # 100 guesses: the per-username limit, from 10 addresses
        guesses = list(pool.map(lambda n: register(service, f"10.6.6.{n % 10}", f"guess-{n}"), range(100)))
    assert set(guesses) == {409}
    assert register(service, "10.6.6.1", "guess-more") == 429  # the guessers are throttled...
    assert register(service, "10.0.0.7", "the-real-one") == 201  # ...the agent is not
    assert service.whoami(None, ("press7", "the-real-one"), "10.0.0.7").username == "press7"


def test_simultaneous_wrong_guesses_get_at_most_the_limit_checked(service):
    service.open("tester")
    assert register(service, "10.0.0.7", "the-real-one") == 202
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda n: register(service, "10.6.6.6", f"guess-{n}"), range(40)))
    assert statuses.count(409) == 10
    assert statuses.count(429) == 30


@pytest.mark.parametrize("round_", range(3))
def test_identical_simultaneous_first_requests_with_one_csr_are_one_request_and_polls(tmp_path, clock, round_):
    """Spread over the ~60 ms the first one spends hashing, so that some pass the
    username look-up before its insert and the key look-up after it. Up to a dozen
    may hash, more than the hashing queue takes by default, on a busy machine for longer
    than a registration is kept waiting by default (tests/test_overload.py): here all
    twelve are let in, and each waits as long as it takes."""
    service = open_registry(tmp_path / "data", clock, Limits(registrations_hashing_at_once=12,
                                                             registration_answer_seconds=None))
    service.open("tester")
    csr, _ = make_csr("press7")

    def send(number: int) -> int:
        time.sleep(number * 0.006)
        return register(service, "10.0.0.7", "the-real-one", csr=csr)

    try:
        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(send, range(12)))
        assert statuses == [202] * 12
        assert [row.username for row in service.registrations()] == ["press7"]
    finally:
        close_db()


def test_whoami_for_an_unknown_username_costs_as_much_as_a_wrong_password(service):
    """Compared in CPU time of the whole process (scrypt runs on its own threads), not wall time."""
    service.open("tester")
    register(service, "10.0.0.7", "the-real-one")
    service.grant("press7", "tester")

    def cpu_seconds(username: str) -> float:
        start = time.process_time()
        for number in range(3):
            service.whoami(None, (username, f"wrong-{number}"), f"10.0.0.{number + 20}")
        return time.process_time() - start

    known, unknown = cpu_seconds("press7"), cpu_seconds("nobody-here")
    assert unknown > known / 2


def test_the_password_cache_grows_with_the_registry():
    password_hash = hash_password("fleet-password")
    cache = VerifiedPasswords(min_entries=10, capacity=lambda: 50)
    for number in range(50):
        cache.remember(f"device{number}", password_hash, "fleet-password")
    assert all(cache.is_known(f"device{number}", password_hash, "fleet-password") for number in range(50))


def test_invalid_csrs_count_against_the_new_request_limit(service):
    service.open("tester")
    statuses = [register(service, "10.6.6.6", "pw-12345", username=f"bad{n}", csr="-----BEGIN nonsense")
                for n in range(31)]
    assert statuses[:30] == [400] * 30
    assert statuses[30] == 429


def test_an_rsa_key_with_a_huge_public_exponent_is_refused_before_its_signature():
    modulus = make_key("rsa2048").public_key().public_numbers().n
    huge = rsa.RSAPublicNumbers(2**2000 + 1, modulus).public_key()
    pem = handmade_csr(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")]), huge,
                       "1.2.840.113549.1.1.11", lambda tbs: b"\x01" * 256)
    with pytest.raises(ValueError, match="exponent"):
        check_csr(pem, "alice")


def test_a_multi_valued_rdn_is_one_attribute_set_in_the_review():
    key = make_key("ec")
    subject = x509.Name([x509.RelativeDistinguishedName([
        x509.NameAttribute(NameOID.COMMON_NAME, "alice"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evil"),
    ]), x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")])])
    pem = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    review = check_csr(pem.public_bytes(Encoding.PEM).decode(), "alice").review
    assert len(review.subject) == 2
    assert dict(review.subject)["C"] == "DE"
    name, value = next(entry for entry in review.subject if entry[0] != "C")
    assert set(name.split("+")) == {"CN", "O"} and "CN=alice" in value and "O=Evil" in value


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
@pytest.mark.parametrize("cipher, succeeds", [
    ("ECDHE-ECDSA-AES128-SHA", False), ("ECDHE-ECDSA-AES256-SHA384", False),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", True), ("ECDHE-ECDSA-CHACHA20-POLY1305", True),
])
def test_tls_1_2_offers_aead_suites_only(server, cipher, succeeds):
    done = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2",
                           "-cipher", cipher], input=b"", capture_output=True, timeout=30)
    assert (done.returncode == 0) == succeeds, done.stdout.decode(errors="replace")[-500:]
