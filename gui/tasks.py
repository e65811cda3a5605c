"""Background work for the window, in the manner of Anki's ``taskman`` and ``QueryOp``.

Everything that touches the database, hashes or signs runs here, never on the
GUI thread. A task is a plain callable; its result or its exception comes back
on the GUI thread through a queued signal, so callbacks may touch widgets and
the callable never does.

One worker thread: SQLite has one writer anyway, and first-in-first-out means
results arrive in the order the work was asked for (a status read queued before
"open" can never overwrite the answer of "open").
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot


log = logging.getLogger(__name__)

OnSuccess = Callable[[Any], None]
OnFailure = Callable[[Exception], None]


class _Relay(QObject):
    """Lives on the GUI thread; emitting it from the worker queues the delivery."""

    finished = Signal(int, bool, object)  # task id, succeeded, result or exception


def _run_task(task_id: int, work: Callable[[], Any], relay: _Relay, after: Callable[[], None]) -> None:
    """Runs on the worker thread."""
    try:
        result, succeeded = work(), True
    except Exception as error:  # handed to the GUI thread, which decides what to show
        result, succeeded = error, False
    finally:
        after()
    relay.finished.emit(task_id, succeeded, result)


class BackgroundTasks(QObject):
    """Runs callables on one worker thread; delivers outcomes on the GUI thread."""

    def __init__(self, parent: QObject | None = None, after_each: Callable[[], None] = lambda: None):
        """``after_each`` runs on the worker thread after every task (releasing its
        database connection, say), whether the task succeeded or not."""
        super().__init__(parent)
        self._after_each = after_each
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._deliver)
        self._ids = itertools.count()
        self._callbacks: dict[int, tuple[OnSuccess | None, OnFailure | None]] = {}
        self._stopped = False

    def run(self, work: Callable[[], Any], on_success: OnSuccess | None = None,
            on_failure: OnFailure | None = None) -> None:
        """Run ``work()`` in the background; call back with its result or exception."""
        if self._stopped:
            return
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_success, on_failure)
        # A plain callable, not a QRunnable subclass: PySide kept the Python side of some
        # finished QRunnable subclasses alive for good (a few in a hundred, each with its
        # closure), a slow leak over a shift that tests/gui/test_soak.py saw as drifting Nones.
        relay, after = self._relay, self._after_each
        self._pool.start(lambda: _run_task(task_id, work, relay, after))

    def pending(self) -> int:
        """Tasks asked for whose outcome has not been delivered yet."""
        return len(self._callbacks)

    def stop(self) -> None:
        """Drop queued work, wait for the running task, deliver nothing more."""
        self._stopped = True
        self._pool.clear()
        self._pool.waitForDone()
        self._callbacks.clear()

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, succeeded: bool, result: object) -> None:
        on_success, on_failure = self._callbacks.pop(task_id, (None, None))
        if self._stopped:
            return
        if succeeded:
            if on_success is not None:
                on_success(result)
        elif on_failure is not None:
            on_failure(result)
        else:
            log.error("background task failed", exc_info=result)
