"""1. Polling: the fleet polls round-robin, against a trivial route on the same server.

Both run in alternating rounds (trivial, poll, poll, trivial) after a warm-up,
and each side reports its best round: background load on a shared machine
only ever slows a round down, and alternating gives both sides the same
chances. Every round is kept in results.json.
"""

from __future__ import annotations

from bench.agents import REGISTER_PATH
from bench.fleet import Fleet
from bench.load import LoadResult, generate_load
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


def measure(fleet: Fleet, seconds: float) -> tuple[list[Figure], LoadResult]:
    """The figures, and the polling result that measurement 2 compares against."""
    poll(fleet, WARM_UP_SECONDS, TRIVIAL_PATH)
    poll(fleet, WARM_UP_SECONDS)
    trivial_rounds, poll_rounds = [], []
    for first, second in ((TRIVIAL_PATH, REGISTER_PATH), (REGISTER_PATH, TRIVIAL_PATH)):
        for path in (first, second):
            (trivial_rounds if path == TRIVIAL_PATH else poll_rounds).append(poll(fleet, seconds, path))
    trivial, polls = best(trivial_rounds), best(poll_rounds)
    details = {"agents": len(fleet.poll_bodies), "connections": CONNECTIONS, "generator": polls.generator,
               "poll_rounds": [r.to_json() for r in poll_rounds],
               "trivial_rounds": [r.to_json() for r in trivial_rounds]}
    note = "; ".join(filter(None, (
        polls.unexpected(202) and f"polls: {polls.unexpected(202)}",
        trivial.unexpected(200) and f"trivial route: {trivial.unexpected(200)}",
    )))
    ratio = polls.requests_per_second / trivial.requests_per_second
    figures = [
        Figure(MEASUREMENT, f"polls/s, {len(fleet.poll_bodies):,} agents, {CONNECTIONS} connections",
               polls.requests_per_second, "req/s", trivial.requests_per_second, "trivial route",
               "≥ 0.75 × trivial", ratio >= 0.75, note, details),
        Figure(MEASUREMENT, "poll p50 latency", polls.p50_ms, "ms", trivial.p50_ms, "trivial route"),
        # Issue 17's targets, relative to the same run's trivial route (issue 6 had ≥ 0.7 and ≤ 100 ms).
        Figure(MEASUREMENT, "poll p99 latency", polls.p99_ms, "ms", trivial.p99_ms, "trivial route",
               "≤ 1.2 × trivial", polls.p99_ms <= 1.2 * trivial.p99_ms),
    ]
    return figures, polls
