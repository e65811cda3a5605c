"""Rate limits: events counted per key in fixed windows, in bounded memory."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


class Throttle:
    """Refuses a key once it has had ``limit`` events within ``window`` seconds.

    Memory stays bounded: past ``max_keys`` the least recently counted key is
    forgotten, which at worst gives an attacker with that many identities a
    fresh count, never an honest client a lock-out.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float], max_keys: int = 50_000):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._windows: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: Hashable) -> int | None:
        """Whole seconds until ``key`` may act again, or None if it may now."""
        now = self._clock()
        with self._lock:
            return self._wait(key, now)

    def record(self, key: Hashable) -> None:
        now = self._clock()
        with self._lock:
            self._add(key, now, 1)

    def reserve(self, key: Hashable) -> int | None:
        """Count an event for ``key`` now, unless it is refused: then the wait, and nothing counted.

        Checking and counting in one step keeps the limit hard under concurrency:
        40 simultaneous attempts, each ~60 ms of scrypt long, cannot all pass a
        check made before any of them was counted."""
        now = self._clock()
        with self._lock:
            wait = self._wait(key, now)
            if wait is None:
                self._add(key, now, 1)
            return wait

    def refund(self, key: Hashable) -> None:
        """Take back a reserved event that turned out not to count (a right password)."""
        now = self._clock()
        with self._lock:
            if key in self._windows:
                self._add(key, now, -1)

    def _wait(self, key: Hashable, now: float) -> int | None:
        start, events = self._windows.get(key, (now, 0))
        if events >= self.limit and now < start + self.window:
            return max(1, math.ceil(start + self.window - now))
        return None

    def _add(self, key: Hashable, now: float, events: int) -> None:
        start, counted = self._windows.pop(key, (now, 0))
        if now >= start + self.window:
            start, counted = now, 0
        self._windows[key] = (start, max(0, counted + events))
        if len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)

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
    # Retry-After (server/hashing_queue.py). Two threads hash ~30 a second, so 16 wait
    # half a second at most.
    registrations_hashing_at_once: int = 16
    # ... and how long one of them may wait for its hash to start before it is withdrawn and
    # answered the same way: the promise is an answer within a second of arriving, and a
    # burst's own TLS handshakes may take half of it (bench 10).
    registration_hashing_wait_seconds: float = 0.3
    # What all pending agents' polls together may cost: Retry-After grows with their
    # number to keep to it (server/poll_pacing.py). 10,000 pending poll every 40 s.
    pending_polls_per_second: float = 250
    # Pending requests older than this are expired (deleted, with an audit entry).
    pending_max_age_seconds: float | None = 24 * 3600


class FailedAttempts:
    """Failed credential attempts, counted per username and address, per address and per username."""

    def __init__(self, limits: Limits, clock: Callable[[], float]):
        window = limits.failure_window_seconds
        self._throttles = (
            Throttle(limits.failures_per_username_and_address, window, clock),
            Throttle(limits.failures_per_address, window, clock),
            Throttle(limits.failures_per_username, window, clock),
        )
        self._lock = threading.Lock()  # one reservation across the three throttles at a time

    @staticmethod
    def _keys(username: str, address: str) -> tuple:
        username = username.lower()
        return (username, address), ("address", address), ("username", username)

    def reserve(self, username: str, address: str) -> int | None:
        """Count an attempt on every scale at once, or none: the longest wait when any refuses."""
        keys = list(zip(self._throttles, self._keys(username, address)))
        with self._lock:
            waits = [throttle.retry_after(key) for throttle, key in keys]
            wait = max((wait for wait in waits if wait is not None), default=None)
            if wait is None:
                for throttle, key in keys:
                    throttle.record(key)
            return wait

    def refund(self, username: str, address: str) -> None:
        for throttle, key in zip(self._throttles, self._keys(username, address)):
            throttle.refund(key)
