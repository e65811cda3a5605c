"""2. Polling under arrivals: the same polling while new agents register at a steady rate.

Arrivals are open-loop (bench.open_loop), each on a fresh TLS connection as a
new device would. Each needs a CSR check and a password hash on the server,
or is answered 503 with Retry-After when the hashing queue is full or its hash
is not done in time. Polling under arrivals and polling alone are measured in
pairs, back to back (bench.pairs), each arrival round with its own newcomers:
the polls report the pair with the median ratio of polls/s, the p99 target the
worst p99 of every round under arrivals, and the arrivals the slowest answer
of all rounds.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

from bench.agents import registration_body
from bench.fleet import Fleet
from bench.load import LoadResult, percentile
from bench.open_loop import OpenLoop
from bench.pairs import measure_pairs, median_pair
from bench.polling import poll
from bench.report import Figure

RATE_PER_SECOND = 20
MEASUREMENT = "2 polling under arrivals"


def measure(fleet: Fleet, seconds: float) -> list[Figure]:
    rounds = itertools.count()
    pairs = measure_pairs(lambda: _round(fleet, seconds, f"arrival{next(rounds)}_"), lambda: poll(fleet, seconds))
    (polls, _), alone = median_pair(pairs, lambda under, alone: under[0].requests_per_second
                                    / alone.requests_per_second)
    worst_p99, alone_then = max(((under.p99_ms, alone.p99_ms) for (under, _), alone in pairs))
    every_arrival = [arrivals for (_, arrivals), _ in pairs]
    statuses = sum((arrivals.statuses for arrivals in every_arrival), Counter())
    latencies = sorted(latency for arrivals in every_arrival for latency in arrivals.latencies)
    rate = sum(statuses.values()) / sum(arrivals.seconds for arrivals in every_arrival)
    details = {
        "rate_wanted": RATE_PER_SECOND, "rate_sent": round(rate, 1),
        "arrival_statuses": dict(statuses),
        **{f"arrival_{name}_ms": round(percentile(latencies, percent) * 1000, 1)
           for name, percent in (("p50", 50), ("p99", 99), ("max", 100))},
        "pairs": [{"polls_under_arrivals": under.to_json(), "polls_alone": alone.to_json()}
                  for (under, _), alone in pairs],
    }
    notes = [f"{sum(statuses.values())} arrivals in {len(pairs)} rounds at {rate:.1f}/s, answered "
             f"{dict(statuses)}, p50 {details['arrival_p50_ms']} ms, p99 {details['arrival_p99_ms']} ms"]
    notes += [f"polls: {under.unexpected(202)}" for (under, _), _ in pairs if under.unexpected(202)]
    return [
        Figure(MEASUREMENT, f"poll p99, {RATE_PER_SECOND} new registrations/s (worst round)", worst_p99, "ms",
               alone_then, "polling alone", "≤ 200 ms", worst_p99 <= 200, "; ".join(notes), details),
        Figure(MEASUREMENT, "polls/s under arrivals", polls.requests_per_second, "req/s",
               alone.requests_per_second, "polling alone", "≥ 0.7 × polling alone",
               polls.requests_per_second >= 0.7 * alone.requests_per_second),
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
