"""Password hashes (scrypt, salted) and a memory-only cache of verified ones.

scrypt costs ~60 ms of CPU on purpose. An agent re-sends its password on every
poll, and a fleet polls constantly, so paying scrypt per poll would make the
registry slow and easy to overload. ``VerifiedPasswords`` remembers, in this
process only, a MAC (keyed BLAKE2b, under a random per-process key) of each
password that scrypt has already accepted for a stored hash; a later poll with
the same password is then checked in microseconds, still in constant time.
Nothing of it is ever written to disk, and a wrong password always pays the
full scrypt.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_SCHEME = "scrypt"
# One thread: a hash running beside the server costs polls more than its own core's
# worth (16 MiB through the caches each), and a registration told to come back loses
# nothing (server/hashing_queue.py keeps a hash finished late). One thread hashes
# ~17 registrations a second on an idle machine (README: Benchmarks, 2).
HASHING_THREADS = 1
# Hashing threads run at this niceness (Linux schedules threads one by one), so
# that the server's threads answering polls from the verified cache get a core
# first whenever scrypt and serving compete for one (README: Benchmarks).
HASHING_NICENESS = 10
_FIRST_GUESS_SECONDS = 0.06
_hash_seconds = _FIRST_GUESS_SECONDS
_hash_cpu_seconds = _FIRST_GUESS_SECONDS


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$key``, with a fresh random salt."""
    return start_hashing(password).result()


def start_hashing(password: str) -> Future[str]:
    """``hash_password(password)``, computed on the hashing threads. Until a thread has
    begun it, the hash can be withdrawn (``cancel()``) and costs nothing."""
    return hashing_pool().submit(_encoded_hash, password, secrets.token_bytes(_SALT_BYTES))


def _encoded_hash(password: str, salt: bytes) -> str:
    key = _timed_scrypt(password.encode("utf-8"), salt, _N, _R, _P)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(key)))


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; constant time in the key."""
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(key)
        actual = hashing_pool().submit(_timed_scrypt, password.encode("utf-8"), base64.b64decode(salt),
                                       int(n), int(r), int(p)).result()
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def verify_against_nothing(password: str) -> None:
    """Pay what verifying ``password`` against a stored hash costs, for a username that
    does not exist: its answer then takes as long as a wrong password's."""
    verify_password(password, _dummy_hash())


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _timed_scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    # hashlib.scrypt releases the GIL, so hashing never stalls other threads.
    # Each hash needs 128·N·r bytes (16 MiB) and glibc keeps a thread's freed
    # buffer in that thread's arena: hashed on whichever of the server's many
    # worker threads took the request, a burst of registrations grows the
    # process by 16 MiB per thread. A small pool of its own bounds that, and
    # bounds the cores hashing may take from everyone else.
    global _hash_seconds, _hash_cpu_seconds
    started, cpu_started = time.perf_counter(), time.thread_time()
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p, dklen=_KEY_BYTES)
    # Moving averages: what a hash takes on this machine under its current load, and the
    # processor time it needs however loaded the machine is (how fast the machine is).
    _hash_seconds += (time.perf_counter() - started - _hash_seconds) / 8
    _hash_cpu_seconds += (time.thread_time() - cpu_started - _hash_cpu_seconds) / 8
    return key


def hash_seconds() -> float:
    """What one hash takes now (a moving average of the last few), for telling
    agents how long a backlog of hashes will last."""
    return _hash_seconds


def hash_cpu_seconds() -> float:
    """The processor time one hash needs on this machine (a moving average of the last
    few): unlike ``hash_seconds``, it does not grow while the machine is busy."""
    return _hash_cpu_seconds


@functools.cache
def hashing_pool() -> ThreadPoolExecutor:
    """The threads every scrypt runs on, at a lower priority than serving."""
    return ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="scrypt",
                              initializer=_lower_priority)


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: hash at normal priority
        pass


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class PasswordTags:
    """What is remembered of a password, never the password: a MAC of it, bound to a
    string (a stored hash, a request), under a key of this process alone.

    Keyed BLAKE2b (RFC 7693: a MAC as it is, without HMAC's construction), because
    it keeps the GIL for short inputs: ``hmac.digest`` lets it go around OpenSSL's
    HMAC, and each tag then waits its turn behind every busy server thread, 10 µs a
    tag with 48 threads against 2 µs alone (BLAKE2b: under 2 µs either way)."""

    def __init__(self):
        self._key = secrets.token_bytes(32)

    def of(self, bound_to: str, password: str) -> bytes:
        return self.of_bytes(bound_to.encode("utf-8") + b"\0" + password.encode("utf-8"))

    def of_bytes(self, holding_a_password: bytes) -> bytes:
        return hashlib.blake2b(holding_a_password, key=self._key, digest_size=32).digest()


class VerifiedPasswords:
    """Bounded, thread-safe memory of passwords scrypt has already accepted.

    It holds at least ``min_entries``, and grows with the registry: when full,
    it asks ``capacity()`` (the number of registrations) and makes room for
    all of them and a quarter more. A fleet larger than any fixed size, polling
    round-robin, would otherwise evict each entry before its next poll and pay
    scrypt every time.
    """

    def __init__(self, min_entries: int = 20_000, capacity: Callable[[], int] = lambda: 0):
        # Bound to the stored hash: a re-registered username (new salt) never matches what
        # was remembered for the old one.
        self._tag = PasswordTags().of
        self._tags: OrderedDict[str, bytes] = OrderedDict()
        self._max_entries = min_entries
        self._capacity = capacity
        self._lock = threading.Lock()

    def is_known(self, who: str, encoded_hash: str, password: str) -> bool:
        tag = self._tag(encoded_hash, password)
        with self._lock:
            remembered = self._tags.get(who)
            if remembered is not None:
                self._tags.move_to_end(who)
        return remembered is not None and hmac.compare_digest(remembered, tag)

    def remember(self, who: str, encoded_hash: str, password: str) -> None:
        tag = self._tag(encoded_hash, password)
        if len(self._tags) >= self._max_entries and who not in self._tags:
            # Rare (once per growth step), and outside the lock: one COUNT query.
            self._max_entries = max(self._max_entries, self._capacity() * 5 // 4)
        with self._lock:
            self._tags[who] = tag
            self._tags.move_to_end(who)
            while len(self._tags) > self._max_entries:
                self._tags.popitem(last=False)

    def check(self, who: str, encoded_hash: str, password: str) -> bool:
        """Verify, paying scrypt only when this password was not seen before."""
        if self.is_known(who, encoded_hash, password):
            return True
        if verify_password(password, encoded_hash):
            self.remember(who, encoded_hash, password)
            return True
        return False
