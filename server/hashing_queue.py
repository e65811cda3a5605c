"""New registrations admitted to password hashing, a bounded number at a time.

Each new registration costs one scrypt hash (~60 ms of CPU) on the hashing
pool (server.passwords). Unbounded, a burst of arrivals queues there for seconds:
every one of them waits, and none learns when to come back. So at most
``capacity`` registrations may be hashing or waiting to; the next one is
answered at once, before any hashing, with the time the backlog needs to
clear. That time counts the agents already told to come back as well, each
given its own later turn, so that a burst that was turned away returns spread
over the seconds the pool needs for it rather than all in the same one.

A place in the queue is also a promise of a prompt answer: a registration is
answered at most ``answer_within`` seconds after it reached the server (its
connection's accept, for a new device: the time its TLS handshake waited for a
worker counts too), whether its hash is done or not. So a place is given only
while the hashes ahead could be done before then (each as long as hashes take
now, on the pool's threads); otherwise the answer is given at once, not at the
end of a wait whose hash would never have started. One whose hash has not
started by then (the hashing thread busy, or, at its low priority, starved by
serving) is withdrawn unhashed; one whose hash has started is left to finish.
Either way the agent is answered as one turned away at the
door, and a hash finished for it is kept (``KeptHashes``): when it comes back
with the same request and password, it is stored with that hash at once, and no
scrypt is paid twice. Without the bound, the last of a burst waited for the
whole backlog to drain after the burst (1.1–1.6 s on two cores where the
burst's own TLS handshakes took 0.6 s), and a hash that got a core only now and
then, while a flood of polls had both, took more than a second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

from server.passwords import PasswordTags

# A hash finished for an agent told to come back waits this long for it, at most, and
# at most this many such hashes are kept.
KEEP_SECONDS = 600
KEPT_AT_MOST = 4096


class HashingBusy(Exception):
    """Every place in the queue is taken: come back after ``retry_after`` whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"hashing queue full; retry after {retry_after} s")
        self.retry_after = retry_after


class HashingQueue:
    def __init__(self, capacity: int, threads: int, hash_seconds: Callable[[], float],
                 hash_cpu_seconds: Callable[[], float], clock: Callable[[], float],
                 answer_within: float | None = None):
        """``hash_seconds()``: what one hash takes now (measured), shared by ``threads``;
        ``answer_within``: seconds from a registration's arrival to its answer, at most, when
        its hash is not done (None: no limit), but never less than two hashes' processor time
        (``hash_cpu_seconds()``): on a slow machine a registration waits for its own hash
        rather than be told to come back every time."""
        self._capacity = capacity
        self._answer_within = answer_within
        self._hash_cpu_seconds = hash_cpu_seconds
        self._threads = threads
        self._hash_seconds = hash_seconds
        self._clock = clock
        self._inside = 0
        self._last_turn = 0.0  # when the last agent told to come back gets its turn
        self._lock = threading.Lock()
        self._kept = KeptHashes(clock)

    def hash(self, start_hashing: Callable[[str], Future[str]], password: str, request: str,
             arrived: float) -> str:
        """The hash of ``password`` for ``request`` (what names it: its username and digest):
        one kept from this request's earlier attempt with the same password, else
        ``start_hashing(password)``'s if there is room. HashingBusy, without any hashing,
        if there is none or no time is left; HashingBusy too if the hash is not done
        ``answer_within`` seconds after the request ``arrived`` (time.monotonic()): then it
        is withdrawn if it has not started, and kept for the agent's return if it has."""
        waiting = self._time_left(arrived)
        hashing = self._kept.take(request, password)
        if hashing is None:
            with self._lock:
                if self._no_room(waiting):
                    raise HashingBusy(self._next_turn())
                self._inside += 1
            hashing = start_hashing(password)
            hashing.add_done_callback(self._left)  # done, or withdrawn
        try:
            return hashing.result(timeout=None if waiting is None else max(0.0, waiting))
        except TimeoutError:
            if not hashing.cancel():  # only a hash that has not started can be withdrawn
                self._kept.keep(request, password, hashing)
            with self._lock:
                raise HashingBusy(self._next_turn()) from None

    def turned_away(self, password: str, request: str, arrived: float) -> int | None:
        """The Retry-After of a registration that ``hash`` would turn away at once (no room, or
        no time left, and no hash kept for it), before anything else is checked; None: go on."""
        if self._kept.holds(request, password):
            return None
        with self._lock:
            return self._next_turn() if self._no_room(self._time_left(arrived)) else None

    def _time_left(self, arrived: float) -> float | None:
        if self._answer_within is None:
            return None
        return arrived + max(self._answer_within, 2 * self._hash_cpu_seconds()) - time.monotonic()

    def _no_room(self, time_left: float | None) -> bool:
        """No place left, or no time: its hash would start only once those inside have been
        hashed, and if not before its answer is due it would only be withdrawn. The caller
        holds the lock."""
        if self._inside >= self._capacity:
            return True
        return time_left is not None and time_left <= self._inside * self._hash_seconds() / self._threads

    def _left(self, _hashing: Future[str]) -> None:
        with self._lock:
            self._inside -= 1

    def _next_turn(self) -> int:
        """Whole seconds until the pool has hashed everyone inside and everyone turned
        away before this one; the caller holds the lock."""
        now = self._clock()
        each = self._hash_seconds() / self._threads
        self._last_turn = max(self._last_turn, now + self._inside * each) + each
        return max(1, math.ceil(self._last_turn - now))


class KeptHashes:
    """Hashes finished (or finishing) for agents that were told to come back, each
    under a tag of its request and password (a MAC under a key of this process),
    so that only the same request with the same password takes it. Memory only."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._tag = PasswordTags().of
        self._kept: OrderedDict[bytes, tuple[float, Future[str]]] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def keep(self, request: str, password: str, hashing: Future[str]) -> None:
        now = self._clock()
        with self._lock:
            self._kept[self._tag(request, password)] = (now + KEEP_SECONDS, hashing)
            while self._kept and (len(self._kept) > KEPT_AT_MOST or next(iter(self._kept.values()))[0] < now):
                self._kept.popitem(last=False)

    def holds(self, request: str, password: str) -> bool:
        with self._lock:
            kept = self._kept.get(self._tag(request, password))
        return kept is not None and kept[0] >= self._clock()

    def take(self, request: str, password: str) -> Future[str] | None:
        with self._lock:
            kept = self._kept.pop(self._tag(request, password), None)
        return None if kept is None or kept[0] < self._clock() else kept[1]
