"""Counting failed attempts in fixed windows, in bounded memory."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable


class FailureThrottle:
    """Refuses a key once it has failed ``limit`` times within ``window`` seconds.

    Memory stays bounded: past ``max_keys`` the least recently touched key is
    forgotten, which at worst gives an attacker with that many identities a
    fresh count, never a legitimate client a lock-out.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float], max_keys: int = 50_000):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._windows: OrderedDict[object, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[object]) -> int | None:
        """Seconds until every one of ``keys`` may try again, or None if none is throttled."""
        now = self._clock()
        waits = []
        with self._lock:
            for key in keys:
                start, failures = self._windows.get(key, (now, 0))
                if failures >= self.limit and now < start + self.window:
                    waits.append(start + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, keys: Iterable[object]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                start, failures = self._windows.pop(key, (now, 0))
                if now >= start + self.window:
                    start, failures = now, 0
                self._windows[key] = (start, failures + 1)
            while len(self._windows) > self._max_keys:
                self._windows.popitem(last=False)
