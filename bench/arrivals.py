"""2. Polling under arrivals: the same polling while new agents register at a steady rate.

Arrivals are open-loop: request i is sent at start + i / rate whatever became
of the earlier ones, each on a fresh TLS connection as a new device would, so
a slow server cannot quietly lower the rate. Each needs a CSR check and a
password hash on the server.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.agents import REGISTER_PATH, Poster, registration_body
from bench.fleet import Fleet
from bench.load import LoadResult, percentile
from bench.polling import poll
from bench.report import Figure

RATE_PER_SECOND = 20
MEASUREMENT = "2 polling under arrivals"


class Arrivals:
    """Sends pre-made registrations at ``rate`` per second from a thread pool until stopped."""

    def __init__(self, fleet: Fleet, rate: float, seconds: float):
        self._rate = rate
        self._bodies = [registration_body(f"arrival{i:05d}") for i in range(int(rate * (seconds + 5)))]
        self._poster = Poster(fleet.url, fleet.ca_file, keep_alive=False)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []
        self.sent = 0
        self._thread = threading.Thread(target=self._send_all, name="arrivals")

    def __enter__(self) -> Arrivals:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.seconds = time.monotonic() - self._started
        self._thread.join()  # the answers still on their way are waited for, and counted

    def _send_all(self) -> None:
        # Enough threads that slow answers never hold back the next arrival.
        with ThreadPoolExecutor(max_workers=128) as pool:
            for i, body in enumerate(self._bodies):
                if self._stop.wait(max(0.0, self._started + i / self._rate - time.monotonic())):
                    break
                pool.submit(self._send, body)
                self.sent += 1

    def _send(self, body: str) -> None:
        try:
            status, seconds = self._poster.post(REGISTER_PATH, body)
        except (OSError, http.client.HTTPException) as error:
            status, seconds = type(error).__name__, None
        with self._lock:
            self.statuses[str(status)] += 1
            if seconds is not None:
                self.latencies.append(seconds)


def measure(fleet: Fleet, seconds: float, polling_alone: LoadResult) -> list[Figure]:
    arrivals = Arrivals(fleet, RATE_PER_SECOND, seconds)
    with arrivals:
        time.sleep(1)  # the arrivals reach their pace before polling is measured
        polls = poll(fleet, seconds)
    latencies = sorted(arrivals.latencies)
    rate = arrivals.sent / arrivals.seconds
    details = {
        "rate_wanted": RATE_PER_SECOND, "rate_sent": round(rate, 1),
        "arrival_statuses": dict(arrivals.statuses),
        "arrival_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "arrival_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "polls": polls.to_json(),
    }
    notes = [f"{arrivals.sent} arrivals sent at {rate:.1f}/s, answered {dict(arrivals.statuses)}, "
             f"p50 {details['arrival_p50_ms']} ms, p99 {details['arrival_p99_ms']} ms"]
    if polls.unexpected(202):
        notes.append(f"polls: {polls.unexpected(202)}")
    return [
        Figure(MEASUREMENT, f"poll p99, {RATE_PER_SECOND} new registrations/s", polls.p99_ms, "ms",
               polling_alone.p99_ms, "polling alone", "≤ 200 ms", polls.p99_ms <= 200, "; ".join(notes), details),
        Figure(MEASUREMENT, "polls/s under arrivals", polls.requests_per_second, "req/s",
               polling_alone.requests_per_second, "polling alone"),
    ]
