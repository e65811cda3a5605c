"""Work handed in by several threads at once is done together, each result to its own thread;
grants asked for side by side are written in one transaction."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509

from server.combining import Combiner
from server.service import Refused
from storage import DATABASE_FILE, registry_state
from tests.processes import wait_until
from tests.test_certificates import enrol, issued

WAIT_SECONDS = 10


class HeldFirstCall:
    """A work function whose first call waits until ``release()``: meanwhile, the other
    threads' items queue up behind it."""

    def __init__(self, result_of):
        self.calls: list[list] = []
        self.started, self._released = threading.Event(), threading.Event()
        self._result_of = result_of

    def __call__(self, items: list) -> list:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.started.set()
            assert self._released.wait(WAIT_SECONDS)
        return [self._result_of(item) for item in items]

    def release(self) -> None:
        self._released.set()


def submitted_while_the_first_is_held(work: HeldFirstCall, first, others: list) -> list:
    """Each item's outcome (its result, or the exception raised in its thread), ``first``'s first."""
    combiner = Combiner(work)

    def submit(item):
        try:
            return combiner.submit(item)
        except Exception as error:  # noqa: BLE001 -- the outcome is what the test looks at
            return error

    with ThreadPoolExecutor(1 + len(others)) as pool:
        outcomes = [pool.submit(submit, first)]
        assert work.started.wait(WAIT_SECONDS)
        outcomes += [pool.submit(submit, item) for item in others]
        wait_until(lambda: combiner.waiting == len(others), "the other items to queue")
        work.release()
        return [outcome.result(timeout=WAIT_SECONDS) for outcome in outcomes]


def test_a_thread_alone_does_its_own_work_at_once():
    calls = []
    combiner = Combiner(lambda items: calls.append(items) or [item * 2 for item in items])
    assert [combiner.submit(3), combiner.submit(4)] == [6, 8]
    assert calls == [[3], [4]]
    assert combiner.waiting == 0


def test_items_handed_in_meanwhile_are_done_in_one_call_each_result_to_its_own_thread():
    work = HeldFirstCall(lambda item: item * 10)
    outcomes = submitted_while_the_first_is_held(work, 0, [1, 2, 3, 4, 5])
    assert outcomes == [0, 10, 20, 30, 40, 50]
    assert work.calls[0] == [0]
    assert sorted(work.calls[1]) == [1, 2, 3, 4, 5] and len(work.calls) == 2


def test_a_failed_call_fails_each_of_its_items_and_the_next_call_goes_on():
    def result_of(item):
        if item == "bad":
            raise ValueError("the database is full")
        return item.upper()

    work = HeldFirstCall(result_of)
    outcomes = submitted_while_the_first_is_held(work, "first", ["bad", "other"])
    assert outcomes[0] == "FIRST"
    assert [type(outcome) for outcome in outcomes[1:]] == [ValueError, ValueError]
    assert all(str(outcome) == "the database is full" for outcome in outcomes[1:])
    combiner = Combiner(lambda items: [result_of(item) for item in items])
    with pytest.raises(ValueError):
        combiner.submit("bad")
    assert combiner.submit("after") == "AFTER"  # nothing left stuck


@pytest.fixture
def opened(service):
    service.open("tester")
    return service


def test_grants_asked_for_side_by_side_are_written_together_each_caller_told_its_own(opened, client, tmp_path):
    requests = {name: enrol(opened, client, name)[0] for name in ("press1", "press2", "press3", "press4")}
    opened.grant("press4", "tester")  # asked for again below: refused to that caller alone
    revision = registry_state.current_revision()
    # Another process holds the write lock: the first grant waits for it with the others queued behind.
    holder = sqlite3.connect(tmp_path / "data" / DATABASE_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    asked = [("press1", "alice"), ("press2", "bob"), ("press3", "carol"), ("press4", "dave"), ("nobody", "erin")]

    def grant(name: str, actor: str):
        try:
            return opened.grant(name, actor)
        except Refused as refusal:
            return str(refusal)

    with ThreadPoolExecutor(len(asked)) as pool:
        first = pool.submit(grant, *asked[0])
        side_by_side = opened._granting._side_by_side  # reached into: to know who waits
        wait_until(lambda: side_by_side.working, "the first grant to start")
        outcomes = [first] + [pool.submit(grant, *pair) for pair in asked[1:]]
        wait_until(lambda: side_by_side.waiting == 4, "four grants to queue")
        holder.execute("COMMIT")
        results = [outcome.result(timeout=WAIT_SECONDS) for outcome in outcomes]
    holder.close()

    assert [result.username for result in results[:3]] == ["press1", "press2", "press3"]
    assert len({result.certificate_serial for result in results[:3]}) == 3
    assert results[3] == "press4 is granted, not pending"
    assert results[4] == "there is no registration named 'nobody'"
    assert registry_state.current_revision() == revision + 2  # two transactions: the first, then the rest
    grants = [(entry.username, entry.actor) for entry in opened.audit_log() if entry.action == "grant"]
    assert sorted(grants) == [("press1", "alice"), ("press2", "bob"), ("press3", "carol"), ("press4", "tester")]
    for name in ("press1", "press2", "press3"):
        certificate = issued(client, requests[name])
        certificate.verify_directly_issued_by(opened.ca.certificate)
        assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == name
        assert format(certificate.serial_number, "x") == results[int(name[-1]) - 1].certificate_serial
