"""Waiting: for the registry to answer, to open, for the administrator to decide.

Every wait honours the registry's ``Retry-After`` (within sane bounds), backs off
exponentially while the registry cannot answer (a restart, a network blip), and
stops at the overall deadline that ``--timeout`` sets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from client.console import say
from client.errors import EnrollError, Rejected, TimedOut
from client.transport import Registry, Reply, Unreachable
from common.api_paths import REGISTER_PATH
from common.visible import make_visible

# A registry that asks for 0 s would be hammered, one that asks for a day would
# look dead; the overall --timeout bounds everything anyway.
RETRY_AFTER_BOUNDS = (1, 120)
DEFAULT_RETRY_AFTER = 5
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
REQUEST_SECONDS = 15.0


class Patience:
    """The overall deadline, and waiting within it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def request_timeout(self) -> float:
        """How long one request may take: never much past the deadline."""
        return max(1.0, min(REQUEST_SECONDS, self.remaining()))

    def wait(self, seconds: float, waiting_for: str) -> None:
        """Sleep ``seconds``, or up to the deadline (so one last try happens at it);
        TimedOut once the deadline has passed."""
        remaining = self.remaining()
        if remaining <= 0:
            raise TimedOut(f"timed out after {self.seconds:g} seconds waiting for {waiting_for}; "
                           "run the same command again to go on waiting")
        time.sleep(min(seconds, remaining))


class StateLine:
    """Prints one line when the state changes, not one per poll."""

    def __init__(self):
        self._state: str | None = None

    def show(self, state: str, line: str) -> None:
        if state != self._state:
            self._state = state
            say(line)


def retry_after(reply: Reply) -> int:
    """The answer's ``Retry-After`` in seconds (only the delta-seconds form), clamped."""
    text = reply.headers.get("retry-after", "").strip()
    seconds = int(text) if text.isascii() and text.isdigit() else DEFAULT_RETRY_AFTER
    return max(RETRY_AFTER_BOUNDS[0], min(RETRY_AFTER_BOUNDS[1], seconds))


def first_answer(call: Callable[[float], Reply], patience: Patience, states: StateLine) -> Reply:
    """``call(timeout)`` until the registry gives an answer, backing off while it cannot."""
    failures = 0
    while True:
        try:
            return call(patience.request_timeout())
        except Unreachable as reason:
            states.show("unreachable", f"cannot reach the registry ({reason}); trying again")
        # Exponential back-off with jitter, so that many devices cut off by one
        # restart do not all come back in the same second.
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** failures)
        patience.wait(random.uniform(delay / 2, delay), "the registry to answer")
        failures += 1


def poll_until_decided(registry: Registry, request: dict, key_fingerprint: str,
                       patience: Patience, states: StateLine) -> dict:
    """Send ``request`` until the administrator decides; the granted answer's body,
    or Rejected, or EnrollError for an answer that will not change by waiting."""
    while True:
        reply = first_answer(lambda timeout: registry.post_json(REGISTER_PATH, request, timeout), patience, states)
        if reply.status == 201:
            return reply.json()
        if reply.status == 403:
            raise Rejected(f"rejected by the administrator: {reply.message()}")
        if reply.status == 423:
            states.show("locked", "waiting for the registry to open (an administrator opens it in the window, "
                                  "or with: main.py admin open)")
            waiting_for = "the registry to open"
        elif reply.status == 202:
            _check_pending_fingerprint(reply, key_fingerprint)
            code = reply.json().get("pairingCode")
            states.show("pending", f"waiting for approval; key fingerprint {key_fingerprint}"
                                   + (f", pairing code {make_visible(code)}" if isinstance(code, str) else "")
                                   + " (the administrator compares it with the request)")
            waiting_for = "approval"
        elif reply.status in (429, 503):
            # 429: too many attempts; 503: the registry is busy or cannot store now.
            states.show("throttled", f"the registry asks to wait: {reply.message()}")
            waiting_for = "the registry to accept requests again"
        else:
            hint = " (is --url the registry's address?)" if reply.status == 404 else ""
            raise EnrollError(f"the registry refused the request ({reply.status}): {reply.message()}{hint}")
        patience.wait(retry_after(reply), waiting_for)


def _check_pending_fingerprint(reply: Reply, expected: str) -> None:
    reported = reply.json().get("fingerprint")
    if reported is not None and reported != expected:
        raise EnrollError("the registry reports a different key fingerprint than this key's; "
                          "ask the administrator to delete the pending request")
