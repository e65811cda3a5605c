"""8. Any fleet size: 10,000 pending agents polling at the pace their Retry-After sets.

10,000 registrations through the API would take five minutes of scrypt, so 200
real agents register and 9,800 more pending rows go in straight through
storage (bench.stored_rows): the server counts 10,000 pending and paces them
all. The 200 real agents then poll on the whole fleet's behalf, open loop and
each poll on a fresh TLS connection as the enrolment tool's are, at the rate
10,000 agents honouring the answered Retry-After would (10,000 / Retry-After a
second; every pending agent's password is in the verified cache after its first
poll, as theirs are). The baseline is the same fleet at the fixed 5 s of
before: 2,000 polls a second wanted, of which the load generator sends what it
can. Server CPU is the server process's user and system time over the round
(/proc), as a share of one core.
"""

from __future__ import annotations

import http.client
import os
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.agents import REGISTER_PATH
from bench.fleet import Fleet, add_stored_rows, running_fleet
from bench.open_loop import OpenLoop
from bench.report import Figure
from server.outcomes import PENDING_RETRY_AFTER
from server.statuses import PENDING

MEASUREMENT = "9 pending fleet"
FLEET_SIZE = 10_000
REAL_AGENTS = 200
COUNT_REFRESH_SECONDS = 12  # the server recounts pending requests at most every 5 s


def measure(workdir: Path, seconds: float) -> list[Figure]:
    with running_fleet(workdir, REAL_AGENTS, name="pending-fleet") as fleet:
        add_stored_rows(fleet, FLEET_SIZE - REAL_AGENTS, prefix="pending", statuses=(PENDING,))
        retry_after = _paced_retry_after(fleet)
        adaptive, adaptive_cpu = _polled(fleet, FLEET_SIZE / retry_after, seconds)
        fixed, fixed_cpu = _polled(fleet, FLEET_SIZE / PENDING_RETRY_AFTER, seconds)
    details = {"retry_after": retry_after, "real_agents": REAL_AGENTS,
               "adaptive": _summary(adaptive, adaptive_cpu), "fixed_5s": _summary(fixed, fixed_cpu)}
    note = (f"Retry-After {retry_after} s for {FLEET_SIZE:,} pending; answered: adaptive {dict(adaptive.statuses)}, "
            f"fixed 5 s {dict(fixed.statuses)} ({fixed.rate_sent:.0f} of {FLEET_SIZE / PENDING_RETRY_AFTER:.0f}/s "
            "wanted could be sent)")
    return [
        Figure(MEASUREMENT, f"server CPU, {FLEET_SIZE:,} pending, adaptive Retry-After", adaptive_cpu, "% core",
               fixed_cpu, "fixed 5 s", "≤ 60 % of one core", adaptive_cpu <= 60, note, details),
        Figure(MEASUREMENT, "poll p99, adaptive Retry-After", adaptive.latency_ms(99), "ms",
               fixed.latency_ms(99), "fixed 5 s", "≤ 200 ms", adaptive.latency_ms(99) <= 200),
        Figure(MEASUREMENT, "polls/s, adaptive Retry-After", adaptive.rate_sent, "req/s",
               fixed.rate_sent, "fixed 5 s"),
    ]


def _paced_retry_after(fleet: Fleet) -> int:
    """The pending Retry-After once the server has counted the stored rows."""
    deadline = time.monotonic() + COUNT_REFRESH_SECONDS
    while True:
        seconds = _retry_after(fleet)
        if seconds > PENDING_RETRY_AFTER or time.monotonic() > deadline:
            return seconds
        time.sleep(1)


def _retry_after(fleet: Fleet) -> int:
    parts = urlsplit(fleet.url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port,
                                             context=ssl.create_default_context(cafile=str(fleet.ca_file)))
    try:
        connection.request("POST", REGISTER_PATH, fleet.poll_bodies[0].encode(), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return int(response.getheader("Retry-After"))
    finally:
        connection.close()


def _polled(fleet: Fleet, rate: float, seconds: float) -> tuple[OpenLoop, float]:
    """Polls at ``rate`` for ``seconds``; and the server's CPU meanwhile, in % of one core."""
    polls = OpenLoop(fleet.url, fleet.ca_file, fleet.poll_bodies, rate)
    cpu_before, started = _cpu_seconds(fleet.server_pid), time.monotonic()
    with polls:
        time.sleep(seconds)
    cpu = (_cpu_seconds(fleet.server_pid) - cpu_before) / (time.monotonic() - started) * 100
    return polls, round(cpu, 1)


def _cpu_seconds(pid: int) -> float:
    # /proc/PID/stat: utime and stime, in clock ticks, are fields 14 and 15 (after the
    # command name, which may hold spaces, in parentheses).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summary(polls: OpenLoop, cpu: float) -> dict:
    return {"rate_sent": round(polls.rate_sent, 1), "p50_ms": polls.latency_ms(50), "p99_ms": polls.latency_ms(99),
            "statuses": dict(polls.statuses), "server_cpu_percent": cpu}
