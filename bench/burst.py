"""9. A burst: 200 new agents register at the same moment while the fleet polls.

Every one of them must have its answer soon, a 202 or a 503 with Retry-After:
the figure is the time until the last answer, beside the time two hashing
threads need for 200 scrypt hashes (what the last of them waited when every
arrival was queued). Polls run meanwhile on a few keep-alive connections
(200 fresh connections from one address plus wrk's 64 would pass the
connections an address may hold); their p99 stands beside the same polling
without the burst, taken just before.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.agents import REGISTER_PATH, Poster, registration_body
from bench.fleet import Fleet
from bench.load import LoadResult, generate_load
from bench.report import Figure
from server.passwords import HASHING_THREADS, hash_password

MEASUREMENT = "10 registration burst"
BURST = 200
CONNECTIONS = 8
POLL_SECONDS = 4
BURST_AFTER_SECONDS = 1


def measure(fleet: Fleet) -> list[Figure]:
    bodies = [registration_body(f"burst{i:05d}") for i in range(BURST)]
    alone = _poll(fleet)
    with ThreadPoolExecutor(1) as background:
        during = background.submit(_poll, fleet)
        time.sleep(BURST_AFTER_SECONDS)
        statuses, last_answer = _burst(fleet, bodies)
        polls = during.result()
    all_hashed = BURST * _one_hash_seconds() / HASHING_THREADS
    details = {"statuses": dict(statuses), "polls_alone": alone.to_json(), "polls_during": polls.to_json()}
    note = f"{BURST} at once answered {dict(statuses)}; polls on {CONNECTIONS} connections over {POLL_SECONDS} s"
    return [
        Figure(MEASUREMENT, f"{BURST} registrations at once: all answered", last_answer * 1000, "ms",
               all_hashed * 1000, "200 hashes on the hashing threads", "≤ 1,000 ms", last_answer <= 1, note,
               details),
        Figure(MEASUREMENT, "poll p99 during the burst", polls.p99_ms, "ms", alone.p99_ms, "polling alone",
               "≤ 200 ms", polls.p99_ms <= 200),
    ]


def _poll(fleet: Fleet) -> LoadResult:
    return generate_load(fleet.url, REGISTER_PATH, fleet.poll_bodies, connections=CONNECTIONS,
                         seconds=POLL_SECONDS, ca_file=fleet.ca_file)


def _burst(fleet: Fleet, bodies: list[str]) -> tuple[Counter, float]:
    """The answers' statuses, and seconds from the common start to the last answer."""
    poster = Poster(fleet.url, fleet.ca_file, keep_alive=False)
    start = threading.Barrier(len(bodies))
    started = []

    def register(body: str) -> str:
        start.wait()
        started.append(time.monotonic())  # list.append is atomic: the earliest start is kept
        try:
            return str(poster.post(REGISTER_PATH, body)[0])
        except OSError as error:
            return type(error).__name__

    with ThreadPoolExecutor(len(bodies)) as senders:
        statuses = Counter(senders.map(register, bodies))
    return statuses, time.monotonic() - min(started)


def _one_hash_seconds() -> float:
    """One scrypt hash with the registry's parameters, here and now."""
    begun = time.perf_counter()
    hash_password("one hash, timed")
    return time.perf_counter() - begun
