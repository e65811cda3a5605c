"""The background-work helper: work off the GUI thread, outcomes back on it."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication

from gui.tasks import BackgroundTasks


@pytest.fixture
def tasks(qtbot):
    runner = BackgroundTasks()
    yield runner
    runner.stop()


def test_work_runs_off_the_gui_thread_and_the_result_comes_back_on_it(qtbot, tasks):
    gui_thread = threading.get_ident()
    outcome = {}
    tasks.run(lambda: threading.get_ident(),
              lambda worker: outcome.update(worker=worker, delivered_on=threading.get_ident()))
    qtbot.waitUntil(lambda: "worker" in outcome)
    assert outcome["worker"] != gui_thread
    assert outcome["delivered_on"] == gui_thread


def test_a_failure_comes_back_as_the_exception(qtbot, tasks):
    failures = []

    def work():
        raise ValueError("no such thing")

    tasks.run(work, lambda _: failures.append("succeeded?"), failures.append)
    qtbot.waitUntil(lambda: len(failures) == 1)
    assert isinstance(failures[0], ValueError) and str(failures[0]) == "no such thing"


def test_results_arrive_in_the_order_the_work_was_asked_for(qtbot, tasks):
    results = []
    for number in range(20):
        tasks.run(lambda number=number: number, results.append)
    qtbot.waitUntil(lambda: len(results) == 20)
    assert results == list(range(20))


def test_nothing_is_delivered_after_stop(qtbot, tasks):
    started, release, delivered = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(5)
        return "late"

    tasks.run(slow, delivered.append)
    started.wait(5)
    release.set()
    tasks.stop()  # waits for the running task, whose delivery is then queued
    QCoreApplication.processEvents()  # hand the queued delivery over, which must drop it
    tasks.run(lambda: "after stop", delivered.append)
    QCoreApplication.processEvents()
    assert delivered == []
    assert tasks.pending() == 0
