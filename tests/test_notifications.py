"""--notify-url: every event reaches a real local HTTP receiver, in the background, retried,
and never with a password."""

from __future__ import annotations


import pytest

from server.ca import CA_CERT_FILE
from tests.helpers import Client, make_csr
from tests.processes import Registry, wait_until
from wiring import start_server


@pytest.fixture
def notifying(service, tmp_path, receiver):
    """The HTTPS server with its notifier POSTing to a fresh receiver: (client, receiver)."""
    def start(failures: int = 0):
        target = receiver(failures)
        running = start_server(service, tmp_path / "data", "127.0.0.1", 0, notify_url=target.url)
        started.append(running)
        return Client(running.url, tmp_path / "data" / CA_CERT_FILE), target

    started = []
    yield start
    for running in started:
        running.stop()


def register(client, username: str, password: str = "a secret password"):
    return client.register({"username": username, "password": password, "csr": make_csr(username)[0]})


def test_every_kind_of_event_arrives_and_none_carries_a_password(notifying, admin, service, clock):
    client, target = notifying()
    service.open("tester")
    for name in ("alice", "bob", "carol", "dave"):
        assert register(client, name).status == 202
    assert admin("grant", "alice", "carol")[0] == 0  # the CLI's events are sent by the server's notifier
    admin("reject", "bob", "--reason", "unknown device")
    service.revoke("alice", "tester", "keyCompromise")
    service.delete("carol", "tester")
    clock.advance(25 * 3600)
    assert service.expire_stale_requests() == 1  # dave

    wanted = [("pending", "alice"), ("pending", "bob"), ("pending", "carol"), ("pending", "dave"),
              ("granted", "alice"), ("granted", "carol"), ("rejected", "bob"), ("revoked", "alice"),
              ("revoked", "carol"), ("expired", "dave")]
    wait_until(lambda: len(target.bodies) >= len(wanted), "every event to arrive")
    events = target.events
    assert [(event["event"], event["username"]) for event in events] == wanted
    pending = events[0]
    assert pending["pairingCode"] == service.details("alice").pairing_code and pending["at"].endswith("+00:00")
    assert (events[7]["reason"], events[8]["reason"]) == ("keyCompromise", "cessationOfOperation")
    assert events[6]["reason"] == "unknown device"
    assert len({event["id"] for event in events}) == len(events)
    for body in target.bodies:
        assert b"secret" not in body and b"password" not in body.lower() and b"scrypt" not in body


def test_an_event_the_receiver_refuses_at_first_arrives_after_retries(notifying, service, clock):
    client, target = notifying(failures=2)
    service.open("tester")
    register(client, "alice")
    wait_until(lambda: target.attempts == 1, "the first attempt")
    clock.advance(2)  # the first back-off
    wait_until(lambda: target.attempts == 2, "the second attempt")
    assert target.bodies == []
    clock.advance(4)  # twice as long
    wait_until(lambda: target.bodies, "the event, third time lucky")
    assert [(event["event"], event["username"]) for event in target.events] == [("pending", "alice")]


def test_an_agents_answer_never_waits_for_a_slow_receiver(notifying, service):
    client, target = notifying()
    target.release.clear()  # the receiver holds every request until released
    service.open("tester")
    assert register(client, "alice").status == 202
    wait_until(target.holding.is_set, "the notifier to be held by the receiver")
    # The receiver still holds alice's event: bob is answered all the same.
    assert register(client, "bob").status == 202
    assert not target.release.is_set() and target.bodies == []
    target.release.set()
    wait_until(lambda: len(target.bodies) == 2, "both events")


def test_the_headless_server_sends_what_the_admin_cli_did(tmp_path, receiver):
    target = receiver()
    registry = Registry(tmp_path, "--notify-url", target.url)
    registry.start()
    try:
        registry.admin("open")
        client = Client(registry.url, registry.ca_file)
        assert register(client, "pump7").status == 202
        registry.admin("grant", "pump7")
        wait_until(lambda: len(target.bodies) == 2, "the pending and the granted event")
        assert [event["event"] for event in target.events] == ["pending", "granted"]
    finally:
        registry.stop()
