"""Who may hold the server's connections and workers, and who loses them first.

The bookkeeping behind ``server.web.connections``, apart from cheroot:

- an address may keep at most ``OPEN_PER_ADDRESS`` connections open; beyond
  that a new one is closed at once, so that one host cannot spend the
  process's file descriptors (1,024 by default) and stop it answering anyone;
- a connection in a worker that waits on its client (handshake, reading the
  request, writing the answer while the client does not read) is cut once it
  has had ``SHORT_READ_SECONDS`` when its address holds ``BUSY_PER_ADDRESS``
  workers already, or when fewer than ``SPARE_WORKERS`` workers are free: an
  honest client needs milliseconds, a slowloris or a slow reader loses its
  hold on the workers within a second or so, from one address or many;
- what is refused is logged once per ``LOG_EVERY_SECONDS`` with a count, never
  once per refusal.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager, suppress

log = logging.getLogger(__name__)

OPEN_PER_ADDRESS = 256
BUSY_PER_ADDRESS = 8
SPARE_WORKERS = 8
SHORT_READ_SECONDS = 1
LOG_EVERY_SECONDS = 10


class Watch:
    """One connection's current request, as the IO below it reports it."""

    def __init__(self):
        self.started = time.monotonic()
        self.waiting_on_client = False  # inside a recv, a send or the handshake


class Admission:
    def __init__(self, workers: int):
        self._workers = workers
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()
        self._busy: dict[object, tuple[str, Watch]] = {}  # connection -> (address, its watch)
        self._busy_per_address: Counter[str] = Counter()
        self._refusals = RateLimitedLog("refused %d connections beyond %d open from one address (last: %s)")

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and not counted) beyond the cap."""
        with self._lock:
            if self._open[address] >= OPEN_PER_ADDRESS:
                refused = True
            else:
                self._open[address] += 1
                refused = False
        if refused:
            self._refusals.note(OPEN_PER_ADDRESS, address)
        return not refused

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    @contextmanager
    def busy(self, connection, address: str):
        """Count ``connection`` as holding a worker; yield (whether its address was
        already crowded, its Watch)."""
        watch = Watch()
        with self._lock:
            crowded = self._busy_per_address[address] >= BUSY_PER_ADDRESS
            self._busy_per_address[address] += 1
            self._busy[connection] = (address, watch)
        try:
            yield crowded, watch
        finally:
            with self._lock:
                del self._busy[connection]
                self._busy_per_address[address] -= 1
                if not self._busy_per_address[address]:
                    del self._busy_per_address[address]

    def overdue(self) -> list:
        """The connections to cut now (see the module's docstring)."""
        now = time.monotonic()
        with self._lock:
            short_of_workers = self._workers - len(self._busy) < SPARE_WORKERS
            return [
                connection for connection, (address, watch) in self._busy.items()
                if watch.waiting_on_client and now - watch.started > SHORT_READ_SECONDS
                and (short_of_workers or self._busy_per_address[address] > BUSY_PER_ADDRESS)
            ]


def cut(connection) -> None:
    """Wake the worker blocked on ``connection``: its recv or send fails at once.

    ``socket.socket.shutdown`` on the descriptor, not ``SSLSocket.shutdown``,
    which would tear down the TLS object under the worker's feet.
    """
    with suppress(OSError):
        socket.socket.shutdown(connection.socket, socket.SHUT_RDWR)


class RateLimitedLog:
    """A warning at most once per LOG_EVERY_SECONDS, with how many it stands for."""

    def __init__(self, message: str, logger: logging.Logger = log):
        self._message = message
        self._log = logger
        self._lock = threading.Lock()
        self._count = 0
        self._next = 0.0

    def note(self, *details) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if now < self._next:
                return
            count, self._count, self._next = self._count, 0, now + LOG_EVERY_SECONDS
        self._log.warning(self._message, count, *details)
