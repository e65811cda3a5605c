"""How long a pending agent should wait before its next poll, for any fleet size.

A pending agent polls until an administrator decides, so the poll rate of all
of them together is (pending agents) / Retry-After. A fixed 5 s suits a few
hundred; 10,000 pending agents would send 2,000 polls a second, more than the
server can answer. ``PollPacing`` stretches Retry-After so that the pending
fleet together stays within ``polls_per_second``, and shrinks it again as
requests are decided. The count comes from one cheap query at most every
``refresh_seconds``, never from a COUNT per poll.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from server.outcomes import PENDING_RETRY_AFTER

# The enrolment tool bounds Retry-After to 1..120 s (client/polling.py): a
# longer one would only be cut short, and a decided request should not wait
# minutes to be picked up.
MAX_PENDING_RETRY_AFTER = 120


class PollPacing:
    def __init__(self, count_pending: Callable[[], int], clock: Callable[[], float], polls_per_second: float,
                 refresh_seconds: float = 5.0):
        self._count_pending = count_pending
        self._clock = clock
        self._polls_per_second = polls_per_second
        self._refresh_seconds = refresh_seconds
        self._pending = 0
        self._counted_at: float | None = None
        self._counting = threading.Lock()

    def retry_after(self) -> int:
        """Seconds for a pending agent's Retry-After: at least the usual 5, at most 120."""
        now = self._clock()
        stale = self._counted_at is None or now - self._counted_at >= self._refresh_seconds
        # One thread counts; the others meanwhile answer with the count they have.
        if stale and self._counting.acquire(blocking=False):
            try:
                self._pending = self._count_pending()
                self._counted_at = now
            finally:
                self._counting.release()
        wanted = math.ceil(self._pending / self._polls_per_second)
        return max(PENDING_RETRY_AFTER, min(MAX_PENDING_RETRY_AFTER, wanted))
