"""New registrations admitted to password hashing, a bounded number at a time.

Each new registration costs one scrypt hash (~60 ms of CPU) on the hashing
pool's few threads. Unbounded, a burst of arrivals queues there for seconds:
every one of them waits, and none learns when to come back. So at most
``capacity`` registrations may be hashing or waiting to; the next one is
answered at once, before any hashing, with the time the backlog needs to
clear. That time counts the agents already told to come back as well, each
given its own later turn, so that a burst that was turned away returns spread
over the seconds the pool needs for it rather than all in the same one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable


class HashingBusy(Exception):
    """Every place in the queue is taken: come back after ``retry_after`` whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"hashing queue full; retry after {retry_after} s")
        self.retry_after = retry_after


class HashingQueue:
    def __init__(self, capacity: int, threads: int, hash_seconds: Callable[[], float],
                 clock: Callable[[], float]):
        """``hash_seconds()``: what one hash takes now (measured), shared by ``threads``."""
        self._capacity = capacity
        self._threads = threads
        self._hash_seconds = hash_seconds
        self._clock = clock
        self._inside = 0
        self._last_turn = 0.0  # when the last agent told to come back gets its turn
        self._lock = threading.Lock()

    def hash(self, hash_password: Callable[[str], str], password: str) -> str:
        """``hash_password(password)`` if there is room; HashingBusy, before any hashing, if not."""
        with self._lock:
            if self._inside >= self._capacity:
                raise HashingBusy(self._next_turn())
            self._inside += 1
        try:
            return hash_password(password)
        finally:
            with self._lock:
                self._inside -= 1

    def _next_turn(self) -> int:
        """Whole seconds until the pool has hashed everyone inside and everyone turned
        away before this one; the caller holds the lock."""
        now = self._clock()
        each = self._hash_seconds() / self._threads
        self._last_turn = max(self._last_turn, now + self._inside * each) + each
        return max(1, math.ceil(self._last_turn - now))
