"""Under load: a full hashing queue is answered at once, a registration whose hash
is not done in time is answered without it (and its hash, if started, kept for its
return), polls from the verified cache never wait behind hashing, and pending agents
are paced by their number.

The hashing pool (server.passwords) is made to stand still with tasks that wait
on an event, like a hash that takes as long as the test wants: a registration
that tried to hash would then hang, and is seen not to.
"""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.ca import CA_CERT_FILE
from server.limits import Limits
from server.outcomes import Pending
from server import passwords
from server.passwords import HASHING_THREADS, hashing_pool
from server.validation import parse_registration
from storage import close_db
from tests.helpers import Client
from tests.processes import wait_until
from wiring import freeze_start_up_objects, open_registry, start_server

SMALL_QUEUE = 2
SHORT_WAIT_SECONDS = 0.2


@contextmanager
def served(tmp_path, clock, limits: Limits):
    """(client, service) of an open registry with ``limits``, served over HTTPS."""
    data = tmp_path / "data"
    service = open_registry(data, clock, limits)
    service.open("admin")
    running = start_server(service, data, "127.0.0.1", 0)
    try:
        yield Client(running.url, data / CA_CERT_FILE), service
    finally:
        running.stop()
        close_db()


@pytest.fixture
def busy_client(tmp_path, clock):
    """A client of a server that hashes at most SMALL_QUEUE new registrations at once,
    each waiting for its hash as long as it takes."""
    with served(tmp_path, clock, Limits(registrations_hashing_at_once=SMALL_QUEUE,
                                        registration_answer_seconds=None)) as pair:
        yield pair


@pytest.fixture
def impatient_client(tmp_path, clock):
    """A client of a server that hashes one new registration at a time, each answered at most
    SHORT_WAIT_SECONDS after it arrived."""
    with served(tmp_path, clock, Limits(registrations_hashing_at_once=1,
                                        registration_answer_seconds=SHORT_WAIT_SECONDS)) as pair:
        yield pair


@pytest.fixture
def hashed(monkeypatch) -> list:
    """The arguments of every scrypt the registry runs from now on."""
    hashes = []
    original = passwords._timed_scrypt
    monkeypatch.setattr(passwords, "_timed_scrypt", lambda *args: hashes.append(args) or original(*args))
    return hashes


@contextmanager
def stalled_hashing():
    """Every hashing thread held by a task that ends when the test lets it (or at the end)."""
    release = threading.Event()
    holders = [hashing_pool().submit(release.wait) for _ in range(HASHING_THREADS)]
    try:
        wait_until(lambda: _queued() == 0, "the hashing threads to take the stalling tasks")
        yield release
    finally:
        release.set()
        for holder in holders:
            holder.result()


def _queued() -> int:
    # Hashes submitted and not yet started: the executor's own queue.
    return hashing_pool()._work_queue.qsize()


def _document(username: str) -> dict:
    return {"username": username, "password": f"{username}-password"}


def test_a_full_hashing_queue_answers_the_next_registration_at_once_without_hashing(busy_client):
    client, service = busy_client
    with ThreadPoolExecutor(SMALL_QUEUE) as senders, stalled_hashing() as release:
        waiting = [senders.submit(client.register, _document(f"slow{i}")) for i in range(SMALL_QUEUE)]
        wait_until(lambda: _queued() == SMALL_QUEUE, "the first registrations to wait for hashing")

        # Answered while no hash can run: had it asked for one, it would hang here.
        turned_away = client.register(_document("newcomer"))
        assert turned_away.status == 503, turned_away.body
        assert int(turned_away.headers["retry-after"]) >= 1
        assert turned_away.json["status"] == "error"
        assert _queued() == SMALL_QUEUE  # no hash was queued for it
        # Nor was anything else checked: its CSR's signature is not worth verifying now.
        assert client.register({**_document("newcomer"), "csr": "not a CSR"}).status == 503

        release.set()
        assert [future.result().status for future in waiting] == [202] * SMALL_QUEUE
    assert "newcomer" not in {row.username for row in service.registrations()}
    # Room again: the agent that was turned away is taken when it comes back.
    assert client.register(_document("newcomer")).status == 202


def test_turned_away_agents_are_given_later_and_later_turns(busy_client):
    client, _ = busy_client
    with ThreadPoolExecutor(SMALL_QUEUE) as senders, stalled_hashing() as release:
        waiting = [senders.submit(client.register, _document(f"slow{i}")) for i in range(SMALL_QUEUE)]
        wait_until(lambda: _queued() == SMALL_QUEUE, "the first registrations to wait for hashing")
        # The fake clock stands still: each refusal is queued behind the ones before it.
        waits = [int(client.register(_document(f"late{i}")).headers["retry-after"]) for i in range(200)]
        release.set()
        assert {future.result().status for future in waiting} == {202}
    assert waits == sorted(waits) and waits[-1] > waits[0]


def test_a_registration_whose_hash_does_not_start_in_time_is_answered_then_and_never_hashed(
        impatient_client, hashed):
    client, service = impatient_client
    with stalled_hashing() as release:
        started = time.monotonic()
        turned_away = client.register(_document("waited"))  # no hashing thread will be free for it
        assert turned_away.status == 503, turned_away.body
        assert int(turned_away.headers["retry-after"]) >= 1
        assert SHORT_WAIT_SECONDS <= time.monotonic() - started < 5  # it waited, then was answered
        release.set()
    wait_until(lambda: _queued() == 0, "the hashing threads to pass over the withdrawn hash")
    assert hashed == []
    assert "waited" not in {row.username for row in service.registrations()}
    # Its one place in the queue was given back: the agent turned away is taken when it comes back.
    assert client.register(_document("waited")).status == 202
    assert len(hashed) == 1


def test_a_registration_whose_hash_could_not_start_before_its_answer_is_due_is_answered_at_once(
        tmp_path, clock, monkeypatch):
    """Three hashes ahead of it, at 0.4 s each on the one hashing thread, outlast the second it
    may wait: its hash would only be withdrawn, so it is told to come back now, not then."""
    monkeypatch.setattr(passwords, "_hash_seconds", 0.4)  # what hashes take now, as measured
    limits = Limits(registrations_hashing_at_once=8, registration_answer_seconds=1.0)
    with served(tmp_path, clock, limits) as (client, service), ThreadPoolExecutor(3) as senders, \
            stalled_hashing() as release:
        waiting = [senders.submit(client.register, _document(f"early{i}")) for i in range(3)]
        wait_until(lambda: _queued() == 3, "three registrations to wait for hashing")
        started = time.monotonic()
        turned_away = client.register(_document("fourth"))
        assert turned_away.status == 503, turned_away.body
        assert time.monotonic() - started < 0.5  # at once, not after the second it may wait
        assert int(turned_away.headers["retry-after"]) >= 1
        assert _queued() == 3  # no hash queued for it
        release.set()
        assert [future.result().status for future in waiting] == [202] * 3
    assert "fourth" not in {row.username for row in service.registrations()}


def test_a_registration_whose_hash_is_slow_is_answered_in_time_and_its_hash_kept_for_its_return(
        impatient_client, monkeypatch):
    client, service = impatient_client
    may_finish = threading.Event()
    hashed = []
    original = passwords._timed_scrypt

    def slow_scrypt(*args):
        hashed.append(args)
        may_finish.wait()  # started, and slow: as a hash starved of a core
        return original(*args)

    monkeypatch.setattr(passwords, "_timed_scrypt", slow_scrypt)
    started = time.monotonic()
    turned_away = client.register(_document("slow"))
    assert turned_away.status == 503, turned_away.body
    assert int(turned_away.headers["retry-after"]) >= 1
    assert SHORT_WAIT_SECONDS <= time.monotonic() - started < 5  # answered without its hash
    assert len(hashed) == 1 and "slow" not in {row.username for row in service.registrations()}

    # Another password for the same request is not given that hash; its own must wait, and
    # the one place in the queue is taken by the hash still running.
    assert client.register({**_document("slow"), "password": "not-the-same"}).status == 503
    may_finish.set()

    # The same request and password, until its kept hash is done (each earlier try keeps it again).
    wait_until(lambda: client.register(_document("slow")).status == 202, "the agent stored on its return")
    assert len(hashed) == 1  # stored with the kept hash: no second scrypt
    assert client.register(_document("slow")).status == 202  # and it is that password's
    assert len(hashed) == 1


def test_the_answer_bound_counts_from_the_connections_accept_and_a_late_request_is_not_hashed(
        impatient_client, hashed):
    """A device whose handshake waited (a burst's, a flood's) has used up its time by then."""
    client, service = impatient_client
    body = json.dumps(_document("late")).encode()
    with socket.create_connection((client.host, client.port)) as raw:
        time.sleep(SHORT_WAIT_SECONDS * 2)  # accepted, and then waiting for its handshake and request
        with client.context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"POST /api/client-registry/register HTTP/1.1\r\nHost: localhost\r\n"
                        b"Content-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            answer = tls.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert b"Retry-After: " in answer
    assert hashed == []  # refused before any hashing: no time was left for it
    assert client.register(_document("late")).status == 202  # in time, when it comes back at once
    assert len(hashed) == 1


def test_on_a_machine_slower_than_the_answer_bound_a_registration_waits_for_its_own_hash(tmp_path, clock, hashed):
    """The bound is never shorter than two hashes' processor time (as measured here): where
    one hash takes longer than the bound, agents are not all told to come back first."""
    service = open_registry(tmp_path / "data", clock, Limits(registration_answer_seconds=0.001))
    try:
        service.open("admin")
        request = parse_registration(json.dumps(_document("patient")).encode())
        assert isinstance(service.register(request, "10.0.0.1"), Pending)
        assert len(hashed) == 1
    finally:
        close_db()


def test_a_poll_answered_from_the_cache_does_not_wait_behind_hashing(busy_client):
    client, service = busy_client
    assert client.register(_document("known")).status == 202
    with ThreadPoolExecutor(1) as sender, stalled_hashing() as release:
        stuck = sender.submit(client.register, _document("arriving"))
        wait_until(lambda: _queued() == 1, "a new registration to wait for hashing")
        assert client.register(_document("known")).status == 202  # while no hash can run
        assert not stuck.done()
        release.set()
        assert stuck.result().status == 202


def test_retry_after_for_pending_polls_grows_with_the_pending_count_and_shrinks_as_it_falls(tmp_path, clock):
    # Half a poll a second for the whole pending fleet: Retry-After = 2 × pending, at least 5.
    service = open_registry(tmp_path / "data", clock, Limits(pending_polls_per_second=0.5))
    try:
        service.open("admin")

        def poll(username: str) -> int:
            request = parse_registration(json.dumps(_document(username)).encode())
            return service.register(request, "10.0.0.1").retry_after

        for i in range(2):
            poll(f"agent{i}")
        assert poll("agent0") == 5  # two pending: the usual 5 s
        for i in range(2, 8):
            poll(f"agent{i}")
        assert poll("agent0") == 5  # counted at most every few seconds, not per poll
        clock.advance(5)
        assert poll("agent0") == 16  # eight pending

        for i in range(1, 6):
            service.reject(f"agent{i}", "admin")
        clock.advance(5)
        assert poll("agent0") == 6  # three pending
    finally:
        close_db()


def test_what_start_up_made_is_left_out_of_full_collections():
    """Once a process serves, what it made to start (modules, the app, the CA, caches) is out
    of the cyclic collector's way: every full collection walked it again while every thread
    waited, ~50 ms about every ten seconds under load (wiring.freeze_start_up_objects)."""
    made_at_start_up = [{"row": number} for number in range(10_000)]
    try:
        freeze_start_up_objects()
        assert gc.get_freeze_count() >= len(made_at_start_up)
        walked = {id(tracked) for generation in range(3) for tracked in gc.get_objects(generation)}
        assert not any(id(row) in walked for row in made_at_start_up)
    finally:
        gc.unfreeze()
