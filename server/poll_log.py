"""When and from where each agent last polled, written to the database in batches.

A fleet polls every few seconds, and most polls change nothing but this
timestamp. Writing it per poll would make every poll a write transaction,
and SQLite lets one writer in at a time: under load the polls would queue on
the write lock (its busy handler sleeps in steps of milliseconds) and the slow
ones would wait for seconds. So polls are noted in memory and written by the
poll-flush chore (server.chores) about once a second, in one transaction. A crash loses at
most that second of "last poll" times, which are for display only.
"""

from __future__ import annotations

import threading

from storage import registrations


class PollLog:
    def __init__(self):
        self._unwritten: dict[int, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def note(self, registration_id: int, at: float, address: str) -> None:
        with self._lock:
            self._unwritten[registration_id] = (at, address)

    def flush(self) -> int:
        """Write what was noted since the last flush; how many registrations."""
        with self._lock:
            unwritten, self._unwritten = self._unwritten, {}
        if unwritten:
            try:
                registrations.record_polls(unwritten)
            except Exception:
                with self._lock:  # keep them for the next try, unless newer polls came meanwhile
                    self._unwritten = {**unwritten, **self._unwritten}
                raise
        return len(unwritten)
