"""1. Polling: the fleet polls round-robin, against a trivial route on the same server.

Both are measured in pairs, back to back (bench.pairs): the polls/s figure is
the pair with the median ratio of requests per second, the p99 figure the pair
with the median ratio of p99s.
"""

from __future__ import annotations

from bench.agents import REGISTER_PATH
from bench.fleet import Fleet
from bench.load import LoadResult, generate_load
from bench.pairs import measure_pairs, median_pair
from bench.registry_server import TRIVIAL_PATH
from bench.report import Figure

CONNECTIONS = 64
WARM_UP_SECONDS = 2
MEASUREMENT = "1 polling"


def poll(fleet: Fleet, seconds: float, path: str = REGISTER_PATH) -> LoadResult:
    return generate_load(fleet.url, path, fleet.poll_bodies, connections=CONNECTIONS, seconds=seconds,
                         ca_file=fleet.ca_file)


def best(results: list[LoadResult]) -> LoadResult:
    return max(results, key=lambda result: result.requests_per_second)


def measure(fleet: Fleet, seconds: float) -> list[Figure]:
    poll(fleet, WARM_UP_SECONDS, TRIVIAL_PATH)
    poll(fleet, WARM_UP_SECONDS)
    pairs = measure_pairs(lambda: poll(fleet, seconds), lambda: poll(fleet, seconds, TRIVIAL_PATH))
    polls, trivial = median_pair(pairs, lambda polls, trivial: polls.requests_per_second
                                 / trivial.requests_per_second)
    p99_polls, p99_trivial = median_pair(pairs, lambda polls, trivial: polls.p99_ms / trivial.p99_ms)
    details = {"agents": len(fleet.poll_bodies), "connections": CONNECTIONS, "generator": polls.generator,
               "pairs": [{"polls": p.to_json(), "trivial": t.to_json()} for p, t in pairs]}
    note = "; ".join(filter(None, (
        *(p.unexpected(202) and f"polls: {p.unexpected(202)}" for p, _ in pairs),
        *(t.unexpected(200) and f"trivial route: {t.unexpected(200)}" for _, t in pairs),
    )))
    ratio = polls.requests_per_second / trivial.requests_per_second
    return [
        Figure(MEASUREMENT, f"polls/s, {len(fleet.poll_bodies):,} agents, {CONNECTIONS} connections",
               polls.requests_per_second, "req/s", trivial.requests_per_second, "trivial route",
               "≥ 0.75 × trivial", ratio >= 0.75, note, details),
        Figure(MEASUREMENT, "poll p50 latency", polls.p50_ms, "ms", trivial.p50_ms, "trivial route"),
        # Issue 17's targets, relative to the same run's trivial route (issue 6 had ≥ 0.7 and ≤ 100 ms).
        Figure(MEASUREMENT, "poll p99 latency", p99_polls.p99_ms, "ms", p99_trivial.p99_ms, "trivial route",
               "≤ 1.2 × trivial", p99_polls.p99_ms <= 1.2 * p99_trivial.p99_ms),
    ]
