"""2. Polling under arrivals: the same polling while new agents register at a steady rate.

Arrivals are open-loop (bench.open_loop), each on a fresh TLS connection as a
new device would. Each needs a CSR check and a password hash on the server,
or is answered 503 with Retry-After when the hashing queue is full or its hash
is not done in time. Two rounds, each with its own newcomers; as in 1, the
polls report the better round (background load only ever slows one down),
while the arrivals report the slowest answer of both.
"""

from __future__ import annotations

import time
from collections import Counter

from bench.agents import registration_body
from bench.fleet import Fleet
from bench.load import LoadResult, percentile
from bench.open_loop import OpenLoop
from bench.polling import best, poll
from bench.report import Figure

RATE_PER_SECOND = 20
ROUNDS = 2
MEASUREMENT = "2 polling under arrivals"


def measure(fleet: Fleet, seconds: float, polling_alone: LoadResult) -> list[Figure]:
    rounds = [_round(fleet, seconds, f"arrival{number}_") for number in range(ROUNDS)]
    polls = best([polls for polls, _ in rounds])
    statuses = sum((arrivals.statuses for _, arrivals in rounds), Counter())
    latencies = sorted(latency for _, arrivals in rounds for latency in arrivals.latencies)
    rate = sum(statuses.values()) / sum(arrivals.seconds for _, arrivals in rounds)
    details = {
        "rate_wanted": RATE_PER_SECOND, "rate_sent": round(rate, 1),
        "arrival_statuses": dict(statuses),
        **{f"arrival_{name}_ms": round(percentile(latencies, percent) * 1000, 1)
           for name, percent in (("p50", 50), ("p99", 99), ("max", 100))},
        "polls": polls.to_json(),
        "poll_rounds": [polls.to_json() for polls, _ in rounds],
    }
    notes = [f"{sum(statuses.values())} arrivals in {ROUNDS} rounds at {rate:.1f}/s, answered "
             f"{dict(statuses)}, p50 {details['arrival_p50_ms']} ms, p99 {details['arrival_p99_ms']} ms"]
    if polls.unexpected(202):
        notes.append(f"polls: {polls.unexpected(202)}")
    return [
        Figure(MEASUREMENT, f"poll p99, {RATE_PER_SECOND} new registrations/s", polls.p99_ms, "ms",
               polling_alone.p99_ms, "polling alone", "≤ 200 ms", polls.p99_ms <= 200, "; ".join(notes), details),
        Figure(MEASUREMENT, "polls/s under arrivals", polls.requests_per_second, "req/s",
               polling_alone.requests_per_second, "polling alone", "≥ 0.7 × polling alone",
               polls.requests_per_second >= 0.7 * polling_alone.requests_per_second),
        Figure(MEASUREMENT, "slowest arrival's answer (202, or 503 + Retry-After)", details["arrival_max_ms"], "ms",
               target="≤ 1,000 ms", met=details["arrival_max_ms"] <= 1000),
    ]


def _round(fleet: Fleet, seconds: float, prefix: str) -> tuple[LoadResult, OpenLoop]:
    bodies = [registration_body(f"{prefix}{i:05d}") for i in range(int(RATE_PER_SECOND * (seconds + 5)))]
    arrivals = OpenLoop(fleet.url, fleet.ca_file, bodies, RATE_PER_SECOND)
    with arrivals:
        time.sleep(1)  # the arrivals reach their pace before polling is measured
        polls = poll(fleet, seconds)
    return polls, arrivals
