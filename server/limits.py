"""Rate limits: events counted per key in fixed windows, in bounded memory, or in the
database that several instances share."""

from __future__ import annotations

import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from storage import is_shared, rate_windows, write_transaction


class MemoryWindows:
    """Counting windows in this process's memory, for a registry that one process serves.

    Memory stays bounded: past ``max_keys`` the least recently counted key is
    forgotten, which at worst gives an attacker with that many identities a
    fresh count, never an honest client a lock-out.
    """

    def __init__(self, max_keys: int = 50_000):
        self._max_keys = max_keys
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.RLock()

    def transaction(self) -> contextlib.AbstractContextManager:
        return self._lock

    def get(self, key: str) -> tuple[float, int] | None:
        return self._windows.get(key)

    def put(self, key: str, start: float, events: int) -> None:
        self._windows.pop(key, None)
        self._windows[key] = (start, events)
        if len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._windows)


class DatabaseWindows:
    """Counting windows in the database, for instances that share one: a limit then counts
    every instance's events, checked and counted under the database's write lock.
    The rows are bounded by the pruning chore (``storage.rate_windows.prune``)."""

    def transaction(self) -> contextlib.AbstractContextManager:
        return write_transaction()

    def get(self, key: str) -> tuple[float, int] | None:
        return rate_windows.get(key)

    def put(self, key: str, start: float, events: int) -> None:
        rate_windows.put(key, start, events)


def counting_windows() -> MemoryWindows | DatabaseWindows:
    """Where the limits count: in the database when other instances may share it."""
    return DatabaseWindows() if is_shared() else MemoryWindows()


class Throttle:
    """Refuses a key once it has had ``limit`` events within ``window`` seconds.

    ``name`` keeps its keys apart from other throttles' in shared ``windows``."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float], max_keys: int = 50_000,
                 name: str = "", windows: MemoryWindows | DatabaseWindows | None = None):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._name = name
        self._windows = MemoryWindows(max_keys) if windows is None else windows

    def transaction(self) -> contextlib.AbstractContextManager:
        return self._windows.transaction()

    def retry_after(self, key: Hashable) -> int | None:
        """Whole seconds until ``key`` may act again, or None if it may now."""
        now = self._clock()
        with self.transaction():
            return self._wait(self._key(key), now)

    def record(self, key: Hashable) -> None:
        now = self._clock()
        with self.transaction():
            self._add(self._key(key), now, 1)

    def reserve(self, key: Hashable) -> int | None:
        """Count an event for ``key`` now, unless it is refused: then the wait, and nothing counted.

        Checking and counting in one step keeps the limit hard under concurrency:
        40 simultaneous attempts, each ~60 ms of scrypt long, cannot all pass a
        check made before any of them was counted."""
        now = self._clock()
        key = self._key(key)
        with self.transaction():
            wait = self._wait(key, now)
            if wait is None:
                self._add(key, now, 1)
            return wait

    def refund(self, key: Hashable) -> None:
        """Take back a reserved event that turned out not to count (a right password)."""
        now = self._clock()
        key = self._key(key)
        with self.transaction():
            if self._windows.get(key) is not None:
                self._add(key, now, -1)

    def _key(self, key: Hashable) -> str:
        parts = key if isinstance(key, tuple) else (key,)
        return "\x1f".join((self._name, *map(str, parts)))

    def _wait(self, key: str, now: float) -> int | None:
        start, events = self._windows.get(key) or (now, 0)
        if events >= self.limit and now < start + self.window:
            return max(1, math.ceil(start + self.window - now))
        return None

    def _add(self, key: str, now: float, events: int) -> None:
        start, counted = self._windows.get(key) or (now, 0)
        if now >= start + self.window:
            start, counted = now, 0
        self._windows.put(key, start, max(0, counted + events))

    def __len__(self) -> int:
        return len(self._windows)


@dataclass(frozen=True)
class Limits:
    """How much the registry takes from the network before it says 429, and how long
    a request may stay pending. The defaults suit a plant LAN; a benchmark or a
    large roll-out behind one gateway may raise them."""

    # Failed password attempts. The per-username-and-address limit stops a
    # guesser early; the wider ones bound guessing spread over many usernames
    # or many addresses.
    failures_per_username_and_address: int = 10
    failures_per_address: int = 30
    failures_per_username: int = 100
    failure_window_seconds: float = 300
    # New registrations cost a password hash each: bound them per address.
    new_requests_per_address: int = 30
    new_request_window_seconds: float = 60
    # New registrations hashing or waiting for it, at most; the next is answered 503 with
    # Retry-After (server/hashing_queue.py). The hashing thread does ~17 a second, so 8
    # are half a second of its work: those it has not finished within the answer bound
    # below are told to come back too (a hash it started is kept for their return), and
    # more would only wait to be told the same.
    registrations_hashing_at_once: int = 8
    # ... and how long after its arrival (its connection's accept) one of them is answered
    # the same way if its hash is not done by then (withdrawn if not started, else kept for
    # its return): the promise is an answer within a second, and the client's own side of
    # a burst's TLS handshakes, or of a flood of polls, may take half of it (bench 2, 10).
    registration_answer_seconds: float = 0.25
    # What all pending agents' polls together may cost: Retry-After grows with their
    # number to keep to it (server/poll_pacing.py). 10,000 pending poll every 40 s.
    pending_polls_per_second: float = 250
    # Pending requests older than this are expired (deleted, with an audit entry).
    pending_max_age_seconds: float | None = 24 * 3600

    @property
    def longest_window_seconds(self) -> float:
        """After this long, no rate-limit window started before counts any more."""
        return max(self.failure_window_seconds, self.new_request_window_seconds)


class FailedAttempts:
    """Failed credential attempts, counted per username and address, per address and per username."""

    def __init__(self, limits: Limits, clock: Callable[[], float],
                 windows: MemoryWindows | DatabaseWindows | None = None):
        window = limits.failure_window_seconds
        self._windows = MemoryWindows() if windows is None else windows
        self._throttles = (
            Throttle(limits.failures_per_username_and_address, window, clock, name="failures-per-user-address",
                     windows=self._windows),
            Throttle(limits.failures_per_address, window, clock, name="failures-per-address",
                     windows=self._windows),
            Throttle(limits.failures_per_username, window, clock, name="failures-per-user", windows=self._windows),
        )

    @staticmethod
    def _keys(username: str, address: str) -> tuple:
        username = username.lower()
        return (username, address), address, username

    def reserve(self, username: str, address: str) -> int | None:
        """Count an attempt on every scale at once, or none: the longest wait when any refuses."""
        keys = list(zip(self._throttles, self._keys(username, address)))
        with self._windows.transaction():  # one reservation across the three throttles at a time
            waits = [throttle.retry_after(key) for throttle, key in keys]
            wait = max((wait for wait in waits if wait is not None), default=None)
            if wait is None:
                for throttle, key in keys:
                    throttle.record(key)
            return wait

    def refund(self, username: str, address: str) -> None:
        with self._windows.transaction():
            for throttle, key in zip(self._throttles, self._keys(username, address)):
                throttle.refund(key)
