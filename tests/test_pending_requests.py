"""Polls of pending requests answered from memory (server.pending_requests): what is
remembered, and when it is forgotten. Real storage; "another process" is a second
connection to the same SQLite file, as the admin CLI's would be."""

from __future__ import annotations

import sqlite3

import pytest

from server.pending_requests import PendingRequest, PendingRequests
from server.statuses import GRANTED, PENDING, REJECTED
from storage import DATABASE_FILE, db, registrations, write_transaction
from tests.postgres import both_databases
from tests.test_storage import decided, pending

NEVER = 10**9  # seconds: the stored counter is read once, when the memory is made


@pytest.fixture
def other_process(service, tmp_path):
    connection = sqlite3.connect(tmp_path / "data" / DATABASE_FILE, isolation_level=None)
    yield connection
    connection.close()


@both_databases
def test_a_pending_request_is_answered_from_memory_until_this_process_decides_it(service):
    row = pending("alice")
    memory = PendingRequests(refresh_seconds=NEVER)
    assert memory.find("ALICE") == PendingRequest.of(row)
    # Changed behind its back, without a decision: memory answers, the database is not read.
    db.execute_sql("UPDATE registration SET pairing_code = 'CHAN-GED0'")
    assert memory.find("alice").pairing_code == row.pairing_code

    assert decided(row.id, status=GRANTED)
    found = memory.find("alice")  # at once: no look at the stored counter was needed
    assert (found.status, found.pairing_code) == (GRANTED, "CHAN-GED0")
    assert memory.find("alice").status == GRANTED  # a decided request is never remembered


@both_databases
def test_a_request_deleted_and_made_again_is_read_afresh(service):
    first = pending("alice")
    memory = PendingRequests(refresh_seconds=NEVER)
    assert memory.find("alice").id == first.id
    assert registrations.remove(first.id)
    assert memory.find("alice") is None
    again = pending("alice")
    assert memory.find("alice") == PendingRequest.of(again) and again.id != first.id


def test_a_decision_rolled_back_leaves_the_memory_as_it_was(service):
    row = pending("alice")
    memory = PendingRequests(refresh_seconds=NEVER)
    memory.find("alice")
    db.execute_sql("UPDATE registration SET pairing_code = 'CHAN-GED0'")
    with pytest.raises(RuntimeError), write_transaction():
        registrations.decide(row.id, PENDING, status=REJECTED)
        raise RuntimeError("the rest of the decision failed")
    assert registrations.find("alice").status == PENDING
    assert memory.find("alice").pairing_code == row.pairing_code  # not forgotten: nothing was decided


def test_a_decision_by_another_process_is_seen_at_the_next_look_at_the_stored_counter(service, other_process):
    pending("alice")
    looking = PendingRequests(refresh_seconds=0)  # looks at the stored counter on every poll
    not_looking = PendingRequests(refresh_seconds=NEVER)
    assert looking.find("alice").status == not_looking.find("alice").status == PENDING

    other_process.execute("UPDATE registration SET status = 'granted'")  # as the admin CLI's grant does...
    assert looking.find("alice").status == PENDING  # ...not yet: its decision is not counted
    other_process.execute("UPDATE registry_state SET decisions = decisions + 1")  # ...in the same transaction
    assert looking.find("alice").status == GRANTED
    assert not_looking.find("alice").status == PENDING  # one query per refresh, never one per poll


def test_memory_is_bounded(service):
    for number in range(3):
        pending(f"agent{number}")
    memory = PendingRequests(refresh_seconds=NEVER, capacity=2)
    for number in range(3):
        assert memory.find(f"agent{number}").status == PENDING
    db.execute_sql("UPDATE registration SET pairing_code = 'CHAN-GED0'")
    assert [memory.find(f"agent{number}").pairing_code == "CHAN-GED0" for number in range(3)] == [False, False, True]


@both_databases
def test_a_repeat_is_known_by_its_tag_one_tag_a_request_until_a_decision(service):
    alice, bob = pending("alice"), pending("bob")
    memory = PendingRequests(refresh_seconds=NEVER)
    assert memory.find_repeat(b"first") is None
    memory.remember_repeat(b"first", memory.find("alice"))
    memory.remember_repeat(b"bob's", memory.find("bob"))
    assert memory.find_repeat(b"first") == PendingRequest.of(alice)

    memory.remember_repeat(b"second", memory.find("alice"))  # another repeat of the same request...
    assert memory.find_repeat(b"first") is None  # ...replaces the first: one tag a request
    assert memory.find_repeat(b"second") == PendingRequest.of(alice)

    assert decided(bob.id, status=REJECTED)
    assert memory.find_repeat(b"second") is None and memory.find_repeat(b"bob's") is None  # every tag forgotten
    memory.remember_repeat(b"second", memory.find("alice"))
    assert memory.find_repeat(b"second") == PendingRequest.of(alice)  # remembered again after the decision


@both_databases
def test_a_request_found_before_a_decision_is_not_remembered_as_a_repeat_after_it(service):
    row = pending("alice")
    memory = PendingRequests(refresh_seconds=NEVER)
    found_before = memory.find("alice")
    assert registrations.remove(row.id)
    assert memory.find("alice") is None  # the decision is seen: everything remembered is forgotten
    memory.remember_repeat(b"tag", found_before)  # the poll that found it answers late
    assert memory.find_repeat(b"tag") is None

    pending("alice")  # made again: its repeats are its own, never the deleted one's
    assert memory.find("alice") != found_before
    memory.remember_repeat(b"tag", found_before)
    assert memory.find_repeat(b"tag") is None


def test_a_repeat_is_forgotten_at_the_next_look_after_another_process_decides(service, other_process):
    pending("alice")
    memory = PendingRequests(refresh_seconds=0)
    memory.remember_repeat(b"tag", memory.find("alice"))
    assert memory.find_repeat(b"tag").status == PENDING
    other_process.execute("UPDATE registration SET status = 'granted'")
    other_process.execute("UPDATE registry_state SET decisions = decisions + 1")
    assert memory.find_repeat(b"tag") is None
    assert memory.find("alice").status == GRANTED


def test_repeats_are_bounded_with_the_requests_remembered(service):
    for number in range(3):
        pending(f"agent{number}")
    memory = PendingRequests(refresh_seconds=NEVER, capacity=2)
    for number in range(3):
        memory.remember_repeat(f"tag{number}".encode(), memory.find(f"agent{number}"))
    assert [memory.find_repeat(f"tag{number}".encode()) is not None for number in range(3)] == [True, True, False]
