"""What one poll costs, step by step: ``python -m bench.poll_profile [--cprofile]``.

Not part of ``make bench``: it explains its polling figures. One thread, in
process, no HTTP: each step of the poll path is timed alone through its public
function, then the whole ``RegistrationService.register`` call, at 1,000 and at
100,000 stored registrations. (py-spy on the server under load shows the same
picture less precisely: sampling 32 worker threads slows the server tenfold.)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench.agents import registration_body
from bench.registry_server import BENCH_LIMITS
from bench.stored_rows import store_registrations
from wiring import open_registry
from server.passwords import VerifiedPasswords, verify_password
from server.validation import parse_registration
from storage import close_db, registrations
from server.web.json_api import registration_answer

AGENTS = 100  # each costs a real scrypt hash to register
SIZES = (1_000, 100_000)
CALLS = 2_000


def per_call_ms(action, calls: int = CALLS) -> float:
    started = time.perf_counter()
    for i in range(calls):
        action(i)
    return (time.perf_counter() - started) / calls * 1000


def flush_ms(service, bodies: list[bytes], rounds: int = 20) -> float:
    """One ``flush_polls()`` (housekeeping's batched write) after every agent polled once."""
    total = 0.0
    for _ in range(rounds):
        for body in bodies:
            registration_answer(service, body, "application/json", "127.0.0.1")
        started = time.perf_counter()
        service.flush_polls()
        total += time.perf_counter() - started
    return total / rounds * 1000


def measure_steps(service, bodies: list[bytes]) -> dict[str, float]:
    requests = [parse_registration(body) for body in bodies]
    stored = [registrations.find(request.username) for request in requests]
    cache = VerifiedPasswords()
    for request, registration in zip(requests, stored):
        cache.remember(registration.username.lower(), registration.password_hash, request.password)
    n = len(bodies)
    return {
        "parse and validate the body": per_call_ms(lambda i: parse_registration(bodies[i % n])),
        "request digest (is it the same request?)": per_call_ms(lambda i: requests[i % n].digest()),
        "look the registration up (registrations.find)": per_call_ms(
            lambda i: registrations.find(requests[i % n].username)),
        "password, remembered (VerifiedPasswords.check)": per_call_ms(
            lambda i: cache.check(stored[i % n].username.lower(), stored[i % n].password_hash,
                                  requests[i % n].password)),
        "whole poll (RegistrationService.register)": per_call_ms(
            lambda i: registration_answer(service, bodies[i % n], "application/json", "127.0.0.1")),
        f"write the noted polls of {n} agents (flush_polls), per flush": flush_ms(service, bodies),
        "for scale: password not remembered (scrypt)": per_call_ms(
            lambda i: verify_password(requests[i % n].password, stored[i % n].password_hash), calls=5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cprofile", action="store_true", help="also show where a whole poll spends its time")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="client-registry-poll-profile-") as folder:
        service = open_registry(Path(folder), limits=BENCH_LIMITS)
        try:
            service.open("benchmark", 3600)
            bodies = [registration_body(f"agent{i:05d}").encode() for i in range(AGENTS)]
            for body in bodies:
                registration_answer(service, body, "application/json", "127.0.0.1")
            columns = {}
            for size in SIZES:
                store_registrations(size - registrations_count(), prefix=f"upto{size}_")
                columns[size] = measure_steps(service, bodies)
            print_table(columns)
            if arguments.cprofile:
                profile = cProfile.Profile()
                profile.runcall(per_call_ms, lambda i: registration_answer(service, bodies[i % AGENTS], "application/json",
                                                                         "127.0.0.1"))
                pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        finally:
            close_db()
    return 0


def registrations_count() -> int:
    return len(registrations.all_ids())


def print_table(columns: dict[int, dict[str, float]]) -> None:
    steps = list(next(iter(columns.values())))
    width = max(map(len, steps))
    print(f"{'ms per call, one thread':{width}}  " + "  ".join(f"{size:>9,} stored" for size in columns))
    for step in steps:
        print(f"{step:{width}}  " + "  ".join(f"{columns[size][step]:>16.3f}" for size in columns))


if __name__ == "__main__":
    sys.exit(main())
