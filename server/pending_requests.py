"""Pending requests remembered in memory, so that their polls need no database.

A pending agent polls until an administrator decides, and each poll used to
look its request up in the database. Under a flood of polls that look-up cost
more than everything else a poll does: SQLite's readers in one process contend
for its shared-memory lock, 0.04 ms a look-up in one thread but 0.3 ms each
from 48 server threads at once (README: Benchmarks, measurement 1).

What a poll of a pending request needs (its id, password hash, digest, key
fingerprint and pairing code) cannot change while it stays pending: it only
ends, by a grant, a rejection or a deletion. Every such decision bumps a
counter (``storage.registry_state.next_revision_of_a_decision``), and everything remembered
is forgotten when it moves:

- a decision committed by this process is seen at once, without a query;
- one committed by another process (the admin CLI, the window alone, another
  instance) is seen at the next look at the stored counter, at most every
  ``REFRESH_SECONDS``: a poll meanwhile is answered "pending", as it would
  have been a moment earlier, and the agent comes back after its Retry-After.

Only pending requests are remembered; a granted or rejected one is always read
afresh.

A poll is usually the very bytes of the poll before it (the enrolment tool and
curl re-send one file). Such a repeat of a request already answered "pending"
is known by a tag (keyed BLAKE2b under a key of this process, never the bytes, which
hold the password) and answered without parsing it or checking its password
again: it can only have passed both again. One tag is kept per pending
request, forgotten with everything else at each decision.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from server.statuses import PENDING
from storage import registrations
from storage.records import RegistrationRecord
from storage.registry_state import decisions, decisions_in_this_process

REFRESH_SECONDS = 0.25
# Beyond this many, new ones are not remembered (their polls read the database as before)
# until the next decision clears the memory: about 400 bytes each.
CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """What answering a poll of a pending request needs, as stored when it was remembered."""

    id: int
    username: str
    password_hash: str
    request_digest: str
    key_fingerprint: str | None
    pairing_code: str | None
    status: str = PENDING

    @classmethod
    def of(cls, stored: RegistrationRecord) -> PendingRequest:
        return cls(stored.id, stored.username, stored.password_hash, stored.request_digest, stored.key_fingerprint,
                   stored.pairing_code)


class PendingRequests:
    def __init__(self, refresh_seconds: float = REFRESH_SECONDS, capacity: int = CAPACITY):
        self._refresh_seconds = refresh_seconds
        self._capacity = capacity
        self._lock = threading.Lock()
        self._checking = threading.Lock()
        self._stored_decisions: int | None = None
        self._checked_at = float("-inf")
        self._generation: tuple[int, int | None] | None = None
        self._remembered: dict[str, PendingRequest] = {}
        self._repeats: dict[bytes, PendingRequest] = {}  # a repeat's tag: its request
        self._repeat_tags: dict[str, bytes] = {}  # a request's (lower-case username) one tag

    def find(self, username: str) -> PendingRequest | RegistrationRecord | None:
        """The request of ``username`` (compared without regard to case): from memory when it
        is pending and nothing was decided since it was remembered, else as stored."""
        key = username.lower()
        generation = self._current_generation()
        remembered = self._remembered.get(key)
        if remembered is not None:
            return remembered
        stored = registrations.find(username)
        if stored is None or stored.status != PENDING:
            return stored
        pending = PendingRequest.of(stored)
        with self._lock:
            # Read before the look-up: a decision committed meanwhile has moved it, and
            # what was read may be from before that decision.
            if generation == self._generation and len(self._remembered) < self._capacity:
                self._remembered[key] = pending
        return pending

    def find_repeat(self, tag: bytes) -> PendingRequest | None:
        """The pending request a repeat tagged ``tag`` polls, if one was remembered."""
        self._current_generation()
        return self._repeats.get(tag)

    def remember_repeat(self, tag: bytes, pending: PendingRequest) -> None:
        """Its repeats tagged ``tag`` poll ``pending``, which was just answered as such."""
        key = pending.username.lower()
        with self._lock:
            # Still what is remembered: no decision since it was found (they clear both memories).
            if self._remembered.get(key) is pending:
                self._repeats.pop(self._repeat_tags.get(key, b""), None)
                self._repeats[tag] = pending
                self._repeat_tags[key] = tag

    def _current_generation(self) -> tuple[int, int | None]:
        """This process's decisions and the stored counter as last read; what is remembered
        is forgotten whenever either has moved."""
        now = time.monotonic()
        # One thread reads the stored counter; the others meanwhile go on with the value they have.
        if now - self._checked_at >= self._refresh_seconds and self._checking.acquire(blocking=False):
            try:
                self._stored_decisions = decisions()
                self._checked_at = now
            finally:
                self._checking.release()
        generation = (decisions_in_this_process(), self._stored_decisions)
        if generation != self._generation:
            with self._lock:
                if generation != self._generation:
                    self._generation = generation
                    self._remembered, self._repeats, self._repeat_tags = {}, {}, {}
        return generation
