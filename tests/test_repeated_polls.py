"""A pending request's poll repeated byte for byte, over real HTTPS: the core knows it
(``poll_again``) and answers it as the full poll would, never after a decision."""

from __future__ import annotations

import json

import pytest
from cryptography import x509

from server.outcomes import Pending
from tests.helpers import make_csr
from tests.postgres import both_databases

pytestmark = both_databases

AGENT_ADDRESS = "127.0.0.1"


def request_body(password: str = "s3cret-pw") -> bytes:
    csr, _ = make_csr("alice")
    return json.dumps({"username": "alice", "password": password, "csr": csr, "roles": ["reader"],
                       "context": {"site": "line 3"}}).encode()


def test_a_repeated_poll_is_known_and_answered_as_the_full_poll_was(service, client, clock):
    service.open("tester")
    body = request_body()
    new = client.register(raw=body)
    assert new.status == 202
    assert service.poll_again(body, AGENT_ADDRESS) is None  # only a poll answered "pending" is remembered
    full = client.register(raw=body)
    assert (full.status, full.json) == (202, new.json)

    assert service.poll_again(body, AGENT_ADDRESS) == Pending(
        "alice", service.details("alice").csr.key_fingerprint, int(full.headers["retry-after"]),
        pairing_code=new.json["pairingCode"])
    clock.advance(30)
    repeated = client.register(raw=body)
    assert (repeated.status, repeated.json, repeated.headers["retry-after"]) == (
        202, full.json, full.headers["retry-after"])
    service.flush_polls()
    details = service.details("alice")
    assert (details.last_poll_at, details.last_poll_address) == (details.requested_at + 30, AGENT_ADDRESS)


def test_only_the_very_bytes_are_a_repeat_and_the_wire_rules_still_come_first(service, client):
    service.open("tester")
    body = request_body()
    client.register(raw=body)
    client.register(raw=body)
    assert service.poll_again(body, AGENT_ADDRESS) is not None

    as_text = client.register(raw=body, content_type="text/plain")
    assert as_text.status == 415
    wrong = body.replace(b"s3cret-pw", b"s3cret-px")  # the same length, one character off
    assert service.poll_again(wrong, AGENT_ADDRESS) is None
    assert client.register(raw=wrong).status == 409
    spaced = body.replace(b'"roles": ', b'"roles":')  # the same request, written otherwise
    assert service.poll_again(spaced, AGENT_ADDRESS) is None
    assert client.register(raw=spaced).status == 202
    assert service.poll_again(spaced, AGENT_ADDRESS) is not None
    assert service.poll_again(body, AGENT_ADDRESS) is None  # one repeat remembered a request: the latest
    assert client.register(raw=body).status == 202


@pytest.mark.parametrize("decide, status", [
    (lambda service: service.grant("alice", "tester"), 201),
    (lambda service: service.reject("alice", "tester", reason="unknown device"), 403),
    (lambda service: service.delete("alice", "tester"), 423),
])
def test_a_repeat_is_answered_with_the_decision_once_made(service, client, decide, status):
    service.open("tester")
    body = request_body()
    for _ in range(3):
        assert client.register(raw=body).status == 202
    service.lock("tester")
    decide(service)

    assert service.poll_again(body, AGENT_ADDRESS) is None
    for _ in range(2):
        answer = client.register(raw=body)
        assert answer.status == status
    if status == 201:
        x509.load_pem_x509_certificate(answer.json["certificate"].encode()).verify_directly_issued_by(
            service.ca.certificate)
