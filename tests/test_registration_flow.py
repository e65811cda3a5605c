"""The whole registration flow over real HTTPS, as an agent and an admin live it."""

from __future__ import annotations

import pytest
from cryptography import x509

from wiring import open_registry, start_server
from server.ca import CA_CERT_FILE
from storage import close_db
from tests.helpers import Client, make_csr
from tests.postgres import both_databases

pytestmark = both_databases


def agent(username="alice", password="s3cret-pw", **extra):
    return {"username": username, "password": password, **extra}


def test_locked_open_pending_polls_grant_then_granted_forever(service, client):
    csr, _ = make_csr("alice")
    request = agent(csr=csr, roles=["reader"],
                    permissions=[{"resource": "plant/#", "operation": "read", "context": "mqtt"}])

    locked = client.register(request)
    assert locked.status == 423
    assert locked.json["status"] == "locked"
    assert int(locked.headers["retry-after"]) > 0
    assert service.registrations() == []

    service.open("tester")
    first = client.register(request)
    assert first.status == 202
    assert first.json["status"] == "pending"
    assert int(first.headers["retry-after"]) > 0
    assert first.json["fingerprint"] == service.details("alice").csr.key_fingerprint

    for _ in range(3):
        poll = client.register(request)
        assert (poll.status, poll.json) == (202, first.json)

    service.grant("alice", "tester")
    granted = client.register(request)
    assert granted.status == 201
    assert granted.json["status"] == "granted"
    assert granted.json["username"] == "alice"
    assert granted.json["roles"] == ["reader"]
    assert granted.json["permissions"] == request["permissions"]
    assert granted.json["caCertificate"] == service.ca.certificate_pem
    certificate = x509.load_pem_x509_certificate(granted.json["certificate"].encode())
    certificate.verify_directly_issued_by(service.ca.certificate)

    for _ in range(3):
        again = client.register(request)
        assert (again.status, again.json) == (201, granted.json)


def test_pending_polls_go_on_while_locked(service, client):
    service.open("tester")
    assert client.register(agent()).status == 202
    service.lock("tester")
    assert client.register(agent()).status == 202
    assert client.register(agent(username="bob")).status == 423


@pytest.mark.parametrize("reason, message", [
    ("unknown device, call the control room", "unknown device, call the control room"),
    (None, "an administrator rejected the request"),
    ("   ", "an administrator rejected the request"),
])
def test_reject_answers_403_with_the_reason_on_every_poll(service, client, reason, message):
    service.open("tester")
    client.register(agent())
    service.reject("alice", "tester", reason=reason)
    for _ in range(2):
        rejected = client.register(agent())
        assert rejected.status == 403
        assert rejected.json == {"status": "rejected", "message": message}


def test_registry_locks_itself_when_its_deadline_passes(service, client, clock):
    service.open("tester", duration=300)
    clock.advance(299)
    assert service.status().seconds_left == 1
    assert client.register(agent(username="early")).status == 202
    clock.advance(1)
    assert not service.status().is_open
    assert client.register(agent(username="late")).status == 423
    assert [row.username for row in service.registrations()] == ["early"]


def test_granted_without_csr_gets_credentials_but_no_certificate(service, client):
    service.open("tester")
    client.register(agent())
    service.grant("alice", "tester")
    granted = client.register(agent())
    assert granted.status == 201
    assert "certificate" not in granted.json
    assert granted.json["caCertificate"] == service.ca.certificate_pem


def test_state_survives_a_server_restart(tmp_path, clock, database_url):
    data = tmp_path / "data"
    csr, _ = make_csr("alice")
    service = open_registry(data, clock, database_url=database_url)
    server = start_server(service, data, "127.0.0.1", 0)
    try:
        client = Client(server.url, data / CA_CERT_FILE)
        service.open("tester")
        assert client.register(agent(csr=csr)).status == 202
        assert client.register(agent(username="bob")).status == 202
        service.grant("alice", "tester")
        before = client.register(agent(csr=csr)).json
    finally:
        server.stop()
        close_db()

    service = open_registry(data, clock, database_url=database_url)
    server = start_server(service, data, "127.0.0.1", 0)
    try:
        client = Client(server.url, data / CA_CERT_FILE)
        assert service.status().is_open  # the deadline is stored, not remembered
        after = client.register(agent(csr=csr))
        assert (after.status, after.json) == (201, before)
        assert client.register(agent(username="bob")).status == 202
        assert [(r.username, r.status) for r in service.registrations()] == [("alice", "granted"), ("bob", "pending")]
    finally:
        server.stop()
        close_db()


def test_every_step_is_in_the_audit_trail(service, client):
    service.open("admin-a")
    client.register(agent())
    client.register(agent(username="bob"))
    service.grant("alice", "admin-a")
    service.reject("bob", "admin-b", "no")
    service.delete("alice", "admin-a")
    service.lock("admin-a")
    trail = [(r.action, r.username, r.actor) for r in reversed(service.audit_log())]
    assert trail == [
        ("open", None, "admin-a"),
        ("request", "alice", "agent 127.0.0.1"),
        ("request", "bob", "agent 127.0.0.1"),
        ("grant", "alice", "admin-a"),
        ("reject", "bob", "admin-b"),
        ("delete", "alice", "admin-a"),
        ("lock", None, "admin-a"),
    ]


def test_last_polls_reach_the_database_in_batches_and_on_stop(tmp_path, clock, database_url):
    data = tmp_path / "data"
    service = open_registry(data, clock, database_url=database_url)
    server = start_server(service, data, "127.0.0.1", 0)
    try:
        client = Client(server.url, data / CA_CERT_FILE)
        service.open("tester")
        client.register(agent())
        requested = service.details("alice").requested_at
        clock.advance(30)
        client.register(agent())
    finally:
        server.stop()  # its housekeeping writes the polls still in memory
    try:
        details = service.details("alice")
        assert (details.requested_at, details.last_poll_at) == (requested, requested + 30)
        assert details.last_poll_address == "127.0.0.1"
    finally:
        close_db()


def test_a_poll_noted_for_a_deleted_registration_writes_nothing(service, client):
    service.open("tester")
    client.register(agent())
    client.register(agent())
    service.delete("alice", "tester")
    service.flush_polls()
    assert service.registrations() == []
