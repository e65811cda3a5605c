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
