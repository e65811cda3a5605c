"""Many agents at once, guessers, floods and stale requests."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509

from server.ca import CA_CERT_FILE
from server.chores import ChoreRunner, registry_chores
from server.limits import Limits
from server.web.json_api import registration_answer
from storage import close_db
from storage.models import AuditEntry, Registration
from tests.helpers import Client, make_csr
from wiring import open_registry, start_server

# Every test agent comes from 127.0.0.1; and these races are about uniqueness, so all
# of them reach the hashing and wait for it (the hashing queue's own bound and wait:
# tests/test_overload.py).
FLEET = Limits(new_requests_per_address=10_000, registrations_hashing_at_once=10_000,
               registration_answer_seconds=None)


@pytest.fixture
def fleet(tmp_path, clock):
    """A registry that takes a whole fleet from one address, served over HTTPS, open."""
    service = open_registry(tmp_path / "data", clock, FLEET)
    server = start_server(service, tmp_path / "data", "127.0.0.1", 0)
    service.open("tester")
    yield service, Client(server.url, tmp_path / "data" / CA_CERT_FILE)
    server.stop()
    close_db()


def test_fifty_clients_racing_for_one_username_leave_exactly_one_pending_record(fleet, clock):
    service, client = fleet
    start = threading.Barrier(50)

    def race(number: int):
        start.wait()
        return client.register({"username": "press7", "password": f"password-{number}"})

    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(race, range(50)))
    statuses = [reply.status for reply in replies]
    assert statuses.count(202) == 1
    # The others hold a wrong password: refused, and after ten from this address, throttled.
    assert set(statuses) - {202} <= {409, 429}
    assert Registration.select().count() == 1
    winner = next(number for number, reply in enumerate(replies) if reply.status == 202)
    clock.advance(300)  # past the throttle the losers' guesses earned this address
    assert client.register({"username": "press7", "password": f"password-{winner}"}).status == 202
    assert AuditEntry.select().where(AuditEntry.action == "request").count() == 1


def test_two_hundred_agents_polling_while_the_admin_grants_them_all(fleet):
    service, client = fleet
    agents = []
    for number in range(200):
        csr, _ = make_csr(f"agent{number:03d}")
        agents.append({"username": f"agent{number:03d}", "password": f"pw-{number:05d}", "csr": csr})
    with ThreadPoolExecutor(8) as pool:
        assert {reply.status for reply in pool.map(client.register, agents)} == {202}

    answers: dict[str, dict] = {}
    done = threading.Event()

    def poll_until_granted(agent):
        while not done.is_set():
            reply = client.register(agent)
            assert reply.status in (201, 202), reply.body
            if reply.status == 201:
                answers[agent["username"]] = reply.json
                return

    with ThreadPoolExecutor(16) as pollers:
        polling = [pollers.submit(poll_until_granted, agent) for agent in agents]
        for agent in agents:
            service.grant(agent["username"], "tester")
        for future in polling:
            future.result(timeout=120)
        done.set()

    assert len(answers) == 200
    certificates = [x509.load_pem_x509_certificate(answer["certificate"].encode()) for answer in answers.values()]
    for certificate in certificates:
        certificate.verify_directly_issued_by(service.ca.certificate)
    assert len({certificate.serial_number for certificate in certificates}) == 200
    assert {answer["username"] for answer in answers.values()} == {agent["username"] for agent in agents}


def test_guessing_a_pending_agents_password_is_throttled_and_the_agent_keeps_working(service, clock):
    """Over the service directly, so that guesser and agent can come from different addresses."""
    service.open("tester")
    body = lambda password: json.dumps({"username": "press7", "password": password}).encode()  # noqa: E731
    assert registration_answer(service, body("the-real-one"), "application/json", "10.0.0.7").status == 202

    guesses = [registration_answer(service, body(f"guess-{n}"), "application/json", "10.6.6.6").status for n in range(40)]
    assert guesses[:10] == [409] * 10
    assert set(guesses[10:]) == {429}
    assert Registration.get().failed_attempts == 10  # throttled guesses are not even checked

    # The real agent, from its own address, is not locked out by someone else's guessing.
    assert registration_answer(service, body("the-real-one"), "application/json", "10.0.0.7").status == 202
    # A password scrypt has accepted before is no guess (issue 13): not throttled even
    # from the guesser's address, while the guesses still are.
    assert registration_answer(service, body("the-real-one"), "application/json", "10.6.6.6").status == 202
    assert registration_answer(service, body("guess-x"), "application/json", "10.6.6.6").status == 429


def test_guessing_across_many_usernames_from_one_address_is_throttled(service):
    service.open("tester")
    for number in range(3):
        registration_answer(service, json.dumps({"username": f"dev{number}", "password": "right-pw"}).encode(),
                            "application/json", "10.0.0.1")
    statuses = [registration_answer(service, json.dumps({"username": f"dev{n % 3}", "password": f"guess{n}"}).encode(),
                                    "application/json", "10.6.6.6").status for n in range(40)]
    assert statuses[:30] == [409] * 30
    assert set(statuses[30:]) == {429}


def test_new_registrations_are_limited_per_address(service, clock):
    service.open("tester")

    def new(number: int, address: str):
        body = json.dumps({"username": f"dev{number:03d}", "password": "pw-12345"}).encode()
        return registration_answer(service, body, "application/json", address)

    assert {new(n, "10.0.0.1").status for n in range(30)} == {202}
    flooded = new(30, "10.0.0.1")
    assert flooded.status == 429
    assert flooded.body["message"] == "too many new registrations from this address; try again later"
    assert 1 <= flooded.retry_after <= 60
    assert new(31, "10.0.0.2").status == 202  # another address is not affected
    assert new(0, "10.0.0.1").status == 202  # polls of existing requests go on
    clock.advance(flooded.retry_after)
    assert new(30, "10.0.0.1").status == 202


def test_the_throttles_memory_is_bounded(clock):
    from server.limits import Throttle

    throttle = Throttle(limit=3, window=60, clock=clock, max_keys=1000)
    for address in range(10_000):
        throttle.record(f"10.{address // 65536}.{address // 256 % 256}.{address % 256}")
    assert len(throttle) == 1000


def test_pending_requests_expire_after_their_age_with_an_audit_entry(service, client, clock):
    service.open("tester", duration=86_400)
    client.register({"username": "old", "password": "pw-12345"})
    client.register({"username": "granted", "password": "pw-12345"})
    service.grant("granted", "tester")
    clock.advance(23 * 3600)
    client.register({"username": "young", "password": "pw-12345"})
    assert service.expire_stale_requests() == 0
    clock.advance(3601)
    assert service.expire_stale_requests() == 1
    assert sorted(r.username for r in service.registrations()) == ["granted", "young"]
    entry = service.audit_log(limit=1)[0]
    assert (entry.action, entry.username, entry.actor) == ("expire", "old", "registry")
    # The expired agent's next poll is a new request.
    service.open("tester")
    assert client.register({"username": "old", "password": "pw-12345"}).status == 202


def test_housekeeping_expires_in_the_background(service, client, clock):
    service.open("tester")
    client.register({"username": "old", "password": "pw-12345"})
    clock.advance(25 * 3600)
    chores = ChoreRunner(registry_chores(service, expiry_interval=0.05), release=service.release_connection)
    chores.start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if not service.registrations():
                break
            deadline.wait(0.05)
        assert service.registrations() == []
    finally:
        chores.stop()
