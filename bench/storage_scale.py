"""4. Scale of storage: the same polling with 1,000 and with 100,000 registrations stored.

The same 1,000 agents poll both times; only the number of stored rows
changes, so the ratio shows whether a poll's lookups and writes stay constant
as the tables grow. The load is light (a few connections) so that latency is
the work of a poll rather than the queue in front of it, which at 64
connections swings far more from round to round than any table size does.
The figure at 1,000 is taken right after measurement 1, before anything else
is stored; the extra rows then go in straight through storage (see
bench.stored_rows) while the server keeps running.
"""

from __future__ import annotations

import time

from bench.agents import REGISTER_PATH
from bench.fleet import Fleet, add_stored_rows
from bench.load import LoadResult, generate_load
from bench.polling import best
from bench.report import Figure
from storage import close_db, init_db
from storage.models import Registration

MEASUREMENT = "4 storage scale"
LARGE = 100_000
ROUNDS = 2
CONNECTIONS = 4


def stored_count(fleet: Fleet) -> int:
    init_db(fleet.data_dir)
    try:
        return Registration.select().count()
    finally:
        close_db()


def light_polling(fleet: Fleet, seconds: float) -> LoadResult:
    return best([generate_load(fleet.url, REGISTER_PATH, fleet.poll_bodies, connections=CONNECTIONS,
                               seconds=seconds, ca_file=fleet.ca_file) for _ in range(ROUNDS)])


def measure(fleet: Fleet, seconds: float, small: LoadResult) -> list[Figure]:
    """``small``: ``light_polling`` taken while only the fleet was stored."""
    small_count = len(fleet.poll_bodies)
    started = time.monotonic()
    add_stored_rows(fleet, LARGE - stored_count(fleet))
    inserting = time.monotonic() - started
    generate_load(fleet.url, REGISTER_PATH, fleet.poll_bodies, connections=CONNECTIONS, seconds=2,
                  ca_file=fleet.ca_file)  # warm-up: the server's page cache meets the new tables
    large = light_polling(fleet, seconds)
    ratio = large.p50_ms / small.p50_ms
    details = {"connections": CONNECTIONS, "small": small.to_json(), "large": large.to_json(),
               "stored_large": LARGE, "insert_seconds": round(inserting, 1)}
    note = f"{CONNECTIONS} connections; {LARGE - small_count:,} rows inserted in {inserting:.1f} s"
    if large.unexpected(202):
        note += f"; polls: {large.unexpected(202)}"
    return [
        Figure(MEASUREMENT, f"poll p50 latency, {LARGE:,} stored", large.p50_ms, "ms",
               small.p50_ms, f"{small_count:,} stored", "≤ 1.2 × that at 1,000", ratio <= 1.2, note, details),
        Figure(MEASUREMENT, f"polls/s, {LARGE:,} stored", large.requests_per_second, "req/s",
               small.requests_per_second, f"{small_count:,} stored"),
    ]
