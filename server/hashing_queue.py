"""New registrations admitted to password hashing, a bounded number at a time.

Each new registration costs one scrypt hash (~60 ms of CPU) on the hashing
pool's few threads. Unbounded, a burst of arrivals queues there for seconds:
every one of them waits, and none learns when to come back. So at most
``capacity`` registrations may be hashing or waiting to; the next one is
answered at once, before any hashing, with the time the backlog needs to
clear. That time counts the agents already told to come back as well, each
given its own later turn, so that a burst that was turned away returns spread
over the seconds the pool needs for it rather than all in the same one.

A place in the queue is also a promise of a prompt answer: a registration
whose hash has not started within ``max_wait`` seconds (the hashing threads
slowed down, or starved by a burst of TLS handshakes at a higher priority) is
withdrawn from the queue unhashed and answered as one turned away at the door.
Without that, the last of a burst waited for the whole backlog to drain after
the burst: 1.1–1.6 s on two cores where the burst's own handshakes took 0.6 s.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from server.passwords import HashNotStarted


class HashingBusy(Exception):
    """Every place in the queue is taken: come back after ``retry_after`` whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"hashing queue full; retry after {retry_after} s")
        self.retry_after = retry_after


class HashingQueue:
    def __init__(self, capacity: int, threads: int, hash_seconds: Callable[[], float],
                 clock: Callable[[], float], max_wait: float | None = None):
        """``hash_seconds()``: what one hash takes now (measured), shared by ``threads``;
        ``max_wait``: seconds a registration may wait for its hash to start (None: no limit)."""
        self._capacity = capacity
        self._max_wait = max_wait
        self._threads = threads
        self._hash_seconds = hash_seconds
        self._clock = clock
        self._inside = 0
        self._last_turn = 0.0  # when the last agent told to come back gets its turn
        self._lock = threading.Lock()

    def hash(self, hash_password: Callable[..., str], password: str) -> str:
        """``hash_password(password, start_within=max_wait)`` if there is room; HashingBusy,
        without any hashing, if not, or if the hash did not start within ``max_wait``."""
        with self._lock:
            if self._inside >= self._capacity:
                raise HashingBusy(self._next_turn())
            self._inside += 1
        left = False
        try:
            return hash_password(password, start_within=self._max_wait)
        except HashNotStarted:
            with self._lock:
                self._inside -= 1
                left = True
                retry_after = self._next_turn()  # behind the backlog it leaves, as at the door
            raise HashingBusy(retry_after) from None
        finally:
            if not left:
                with self._lock:
                    self._inside -= 1

    def _next_turn(self) -> int:
        """Whole seconds until the pool has hashed everyone inside and everyone turned
        away before this one; the caller holds the lock."""
        now = self._clock()
        each = self._hash_seconds() / self._threads
        self._last_turn = max(self._last_turn, now + self._inside * each) + each
        return max(1, math.ceil(self._last_turn - now))
