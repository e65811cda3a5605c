"""10. A burst: 200 new agents register at the same moment while the fleet polls.

Every one of them must have its answer soon, a 202 or a 503 with Retry-After.
The figure is the time from the common start until the last answer; beside it,
in the same run, 200 bare TLS connections opened at once to the trivial route
of the same server (bench.registry_server), which is what the burst's
handshakes alone cost on this machine. Each arrival opens its own connection,
as a new device would, and the burst's client runs on the same cores as the
server. Polls run meanwhile on a few keep-alive connections (200 fresh
connections from one address plus wrk's 64 would pass the connections an
address may hold); their p99 stands beside the same polling without the burst,
taken just before.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.agents import REGISTER_PATH, Poster, registration_body
from bench.fleet import Fleet
from bench.load import LoadResult, generate_load
from bench.registry_server import TRIVIAL_PATH
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
    _, bare_tls = _while_polling(fleet, lambda: _burst(fleet, TRIVIAL_PATH, ["{}"] * BURST))
    polls, (statuses, last_answer) = _while_polling(fleet, lambda: _burst(fleet, REGISTER_PATH, bodies))
    all_hashed = BURST * _one_hash_seconds() / HASHING_THREADS
    details = {"statuses": dict(statuses), "bare_tls_statuses": dict(bare_tls[0]),
               "bare_tls_ms": round(bare_tls[1] * 1000, 1), "all_hashed_ms": round(all_hashed * 1000),
               "polls_alone": alone.to_json(), "polls_during": polls.to_json()}
    note = (f"{BURST} at once answered {dict(statuses)}; the bare TLS connections answered {dict(bare_tls[0])}; "
            f"hashing all {BURST} on {HASHING_THREADS} threads would take {all_hashed:.1f} s; "
            f"polls on {CONNECTIONS} connections over {POLL_SECONDS} s")
    return [
        Figure(MEASUREMENT, f"{BURST} registrations at once: all answered", last_answer * 1000, "ms",
               bare_tls[1] * 1000, f"{BURST} bare TLS connections at once", "≤ 1,000 ms", last_answer <= 1, note,
               details),
        Figure(MEASUREMENT, "poll p99 during the burst", polls.p99_ms, "ms", alone.p99_ms, "polling alone",
               "≤ 200 ms", polls.p99_ms <= 200),
    ]


def _poll(fleet: Fleet) -> LoadResult:
    return generate_load(fleet.url, REGISTER_PATH, fleet.poll_bodies, connections=CONNECTIONS,
                         seconds=POLL_SECONDS, ca_file=fleet.ca_file)


def _while_polling(fleet: Fleet, burst):
    """(the polls, what ``burst()`` returned), the burst a second into the polling."""
    with ThreadPoolExecutor(1) as background:
        during = background.submit(_poll, fleet)
        time.sleep(BURST_AFTER_SECONDS)
        result = burst()
        return during.result(), result


def _burst(fleet: Fleet, path: str, bodies: list[str]) -> tuple[Counter, float]:
    """The answers' statuses, and seconds from the common start to the last answer."""
    poster = Poster(fleet.url, fleet.ca_file, keep_alive=False)
    start = threading.Barrier(len(bodies))
    started = []

    def send(body: str) -> str:
        start.wait()
        started.append(time.monotonic())  # list.append is atomic: the earliest start is kept
        try:
            return str(poster.post(path, body)[0])
        except OSError as error:
            return type(error).__name__

    with ThreadPoolExecutor(len(bodies)) as senders:
        statuses = Counter(senders.map(send, bodies))
    return statuses, time.monotonic() - min(started)


def _one_hash_seconds() -> float:
    """One scrypt hash with the registry's parameters, here and now."""
    begun = time.perf_counter()
    hash_password("one hash, timed")
    return time.perf_counter() - begun
