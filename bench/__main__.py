"""``python -m bench``: run the twelve measurements, print the table, write bench/results.json."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from bench import (
    arrivals,
    bulk_grant,
    burst,
    cfssl_peer,
    granting,
    instances,
    lifecycle,
    pending_fleet,
    polling,
    startup,
    storage_scale,
    window,
)
from bench.fleet import running_fleet
from bench.load import generator_name
from bench.report import RESULTS_FILE, Figure, machine, table, write_results

ALL = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(map(str, ALL)), metavar="1,2,…",
                        help="the measurements to run (default: all twelve)")
    parser.add_argument("--seconds", type=float, default=6, help="length of one load round (default 6)")
    parser.add_argument("--agents", type=int, default=1000, help="pending agents that poll (default 1000)")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"where to write the JSON (default: {RESULTS_FILE.name} beside this file, "
                             "written only when all twelve ran)")
    arguments = parser.parse_args(argv)
    arguments.only = {int(part) for part in arguments.only.split(",") if part.strip()}
    if not arguments.only <= set(ALL):
        parser.error(f"--only takes numbers from {ALL}")
    if arguments.results is None and arguments.only == set(ALL):
        arguments.results = RESULTS_FILE
    return arguments


def step(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(arguments: argparse.Namespace, workdir: Path) -> list[Figure]:
    figures: list[Figure] = []
    only = arguments.only
    if 3 in only:
        step("3 granting: EC P-256 and RSA-2048 CSRs, against bare signing")
        figures += granting.measure(workdir)
    if 11 in only:
        step(f"11 cfssl peer: {cfssl_peer.CERTIFICATES} EC P-256 grants at concurrency {cfssl_peer.CONCURRENCY}, "
             "against cfssl serve signing the same CSRs")
        figures += cfssl_peer.measure(workdir)
    if 7 in only:
        step("7 lifecycle: a CRL of 10,000 revoked against bare cryptography; renewal against a grant")
        figures += lifecycle.measure(workdir)
    if 8 in only:
        step("8 bulk grant: 1,000 pending EC requests granted at once, against bare signing")
        figures += bulk_grant.measure(workdir)
    if 6 in only:
        step("6 start-up: main.py headless and with the window, against bare cheroot")
        figures += startup.measure(workdir)
    if 5 in only:
        step("5 window: 10,000 rows in the real window, against a bare Qt table")
        figures += window.measure(workdir)
    if 9 in only:
        step(f"9 pending fleet: {pending_fleet.FLEET_SIZE:,} pending agents at the answered Retry-After, "
             "against a fixed 5 s")
        figures += pending_fleet.measure(workdir, arguments.seconds)
    if 12 in only:
        step("12 instances: two on PostgreSQL behind HAProxy against one; PostgreSQL against SQLite")
        figures += instances.measure(workdir, arguments.seconds)
    if only & {1, 2, 4, 10}:
        step(f"registering {arguments.agents:,} agents through the API (one scrypt hash each)")
        with running_fleet(workdir, arguments.agents) as fleet:
            if 1 in only:
                step(f"1 polling: {polling.CONNECTIONS} connections, load generator: {generator_name()}")
                figures += polling.measure(fleet, arguments.seconds)
            if 4 in only:
                step(f"4 storage scale: polling lightly with {arguments.agents:,} stored")
                small = storage_scale.light_polling(fleet, arguments.seconds)
            if 2 in only:
                step(f"2 polling under {arrivals.RATE_PER_SECOND} arrivals/s")
                figures += arrivals.measure(fleet, arguments.seconds)
            if 10 in only:
                step(f"10 a burst of {burst.BURST} registrations at once while polling")
                figures += burst.measure(fleet)
            if 4 in only:
                step(f"4 storage scale: storing up to {storage_scale.LARGE:,} registrations, polling again")
                figures += storage_scale.measure(fleet, arguments.seconds, small)
    return sorted(figures, key=lambda figure: int(figure.measurement.split()[0]))


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    facts = dict(machine(), load_generator=generator_name())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="client-registry-bench-") as folder:
        figures = run(arguments, Path(folder))
    seconds = time.monotonic() - started
    print()
    print(f"Client Registry benchmarks — {facts['cpu']}, {facts['cores']} cores, Python {facts['python']}, "
          f"{facts['openssl']}; load generator {facts['load_generator']}; "
          f"load average at start {facts['load_average_at_start']}; {seconds:.0f} s")
    print()
    print(table(figures))
    if arguments.results is not None:
        write_results(figures, facts, seconds, arguments.results)
        print(f"\nwritten to {arguments.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
