"""Work that several threads hand in at once, done by one of them for all ("flat combining").

A grant is Python under the GIL, then a write under SQLite's one write lock. Threads that
grant side by side, each on its own, fight over both: the GIL changes hands at every
statement, a thread that finds the database locked sleeps in SQLite's busy handler, and
each grant pays a commit of its own. At four threads that came to 0.75 ms a grant
(bench 11), where one thread granting three at a time takes 0.38 ms. Handed to a
Combiner, the first thread to arrive does the work of every thread waiting at that
moment in one go (for grants: one transaction), while the others sleep until their
result is ready; the next one waiting then takes whatever arrived meanwhile. A thread
alone does its own work at once.

The threads of one batch are woken together, and the first of them back with its next
item found itself alone and took a batch of one while the rest came in behind it: at
four threads, batches of one were as common as batches of four. So a thread whose batch
would be smaller than the one before lets the GIL go once before taking it, for the
threads just woken to hand theirs in: then nine batches in ten held four, and a grant at
four threads took 0.33–0.44 ms instead of 0.42–0.54 (medians of alternating rounds in
one process). A thread alone lets it go at most once, after a batch of several; then
its batches are of one, and it takes each at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Combiner"]


class _Entry(Generic[T, R]):
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item: T):
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result


class Combiner(Generic[T, R]):
    """``submit(item)`` from any thread: ``work(items)`` is called with every item waiting,
    one call at a time, and gives one result per item, in order. When it raises, every item
    of that call gets the exception: none of them was done."""

    def __init__(self, work: Callable[[list[T]], list[R]]):
        self._work = work
        self._changed = threading.Condition()
        self._waiting: list[_Entry[T, R]] = []
        self._working = False
        self._last_batch = 1

    @property
    def working(self) -> bool:
        """Whether a thread is doing work now."""
        return self._working

    @property
    def waiting(self) -> int:
        """How many items wait for a thread to take them up."""
        with self._changed:
            return len(self._waiting)

    def submit(self, item: T) -> R:
        """``item``'s result, once this thread or another has done it."""
        entry = _Entry(item)
        with self._changed:
            self._waiting.append(entry)
            while self._working and not entry.done:
                self._changed.wait()
            if entry.done:
                return entry.outcome()
            self._working = True
            gathering = len(self._waiting) < self._last_batch
        try:
            if gathering:
                time.sleep(0)  # the GIL let go once: the threads of the last batch hand theirs in
            with self._changed:
                batch, self._waiting = self._waiting, []
                self._last_batch = len(batch)
            self._do(batch)
        finally:
            with self._changed:
                self._working = False
                self._changed.notify_all()
        return entry.outcome()

    def _do(self, batch: list[_Entry[T, R]]) -> None:
        try:
            results = self._work([entry.item for entry in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except BaseException as error:  # each caller raises it in its own thread
            for entry in batch:
                entry.error, entry.done = error, True
            return
        for entry, result in zip(batch, results):
            entry.result, entry.done = result, True
