"""Open-loop senders: request i goes at start + i / rate whatever became of the earlier ones.

A closed loop (send, wait, send) lets a slow server quietly lower the rate it
is measured at; an open loop keeps the rate and lets the answers queue, as
devices arriving on their own schedule do, and each latency is counted from
the moment its request was due. Each request is sent on a fresh TLS
connection, as a new device or a polling agent's next round would.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.agents import REGISTER_PATH, Poster
from bench.load import percentile


class OpenLoop:
    """POSTs ``bodies`` in turn (cycling) at ``rate`` per second from a thread pool until stopped."""

    def __init__(self, url: str, ca_file: Path, bodies: list[str], rate: float):
        self._rate = rate
        self._bodies = bodies
        self._poster = Poster(url, ca_file, keep_alive=False)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []
        self._thread = threading.Thread(target=self._send_all, name="open-loop")

    def __enter__(self) -> OpenLoop:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.seconds = time.monotonic() - self._started
        self._thread.join()  # the answers still on their way are waited for, and counted

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate_sent(self) -> float:
        """Requests answered (or failed) per second: the rate the server was really offered."""
        return self.answered / self.seconds

    def latency_ms(self, percent: float) -> float:
        return round(percentile(sorted(self.latencies), percent) * 1000, 1)

    def _send_all(self) -> None:
        # Enough threads that slow answers rarely hold back the next request.
        pool = ThreadPoolExecutor(max_workers=128)
        i = 0
        while not self._stop.wait(max(0.0, self._started + i / self._rate - time.monotonic())):
            pool.submit(self._send, self._bodies[i % len(self._bodies)], self._started + i / self._rate)
            i += 1
        # Requests still due but not begun when the time is up (a rate beyond what this
        # machine can send) are dropped; those on their way are waited for, and counted.
        pool.shutdown(wait=True, cancel_futures=True)

    def _send(self, body: str, due: float) -> None:
        try:
            status, _ = self._poster.post(REGISTER_PATH, body)
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
        seconds = time.monotonic() - due
        with self._lock:
            self.statuses[str(status)] += 1
            self.latencies.append(seconds)
