"""A registry in its own process with a fleet of pending agents, ready to be polled."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.agents import REGISTER_PATH, Poster, registration_body
from server.ca import CA_CERT_FILE
from storage import close_db, db, init_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# scrypt releases the GIL, so registrations hash on both cores at once.
REGISTERING_THREADS = 8
COMEBACKS = 30


@dataclass
class Fleet:
    url: str
    data_dir: Path
    poll_bodies: list[str]  # one per pending agent; a poll re-sends the registration
    server_pid: int

    @property
    def ca_file(self) -> Path:
        return self.data_dir / CA_CERT_FILE


@contextmanager
def running_fleet(workdir: Path, agents: int, name: str = "fleet") -> Iterator[Fleet]:
    """The bench registry server with ``agents`` pending registrations, each with its
    own password hashed by the real API (so the server has seen every password once)."""
    data_dir = workdir / name
    with registry_process(data_dir) as (url, pid):
        bodies = [registration_body(f"agent{i:05d}") for i in range(agents)]
        statuses = post_all(Poster(url, data_dir / CA_CERT_FILE), bodies)
        if statuses != {202: agents}:
            raise RuntimeError(f"registering the fleet answered {dict(statuses)}, not 202 to all")
        yield Fleet(url, data_dir, bodies, pid)


@contextmanager
def registry_process(data_dir: Path, *arguments: str) -> Iterator[tuple[str, int]]:
    """``python -m bench.registry_server DATA_DIR ARGUMENTS…`` running: (its URL, its pid).
    cheroot prints a traceback whenever wrk drops a connection at the end of a run:
    that goes to a log file beside the data, not into the table."""
    with open(f"{data_dir}-server.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bench.registry_server", str(data_dir), *arguments],
                                   cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                   text=True)
        try:
            url = process.stdout.readline().strip()
            if not url.startswith("https://"):
                raise RuntimeError(f"the bench registry server did not start (exit {process.poll()}), see {log.name}")
            yield url, process.pid
        finally:
            process.stdin.close()  # the server stops when its standard input closes
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def post_all(poster: Poster, bodies: list[str]) -> Counter:
    """POST every body; the final statuses. One turned away with 503 (the hashing queue full,
    or its hash not started in time) comes back a second later, as the enrolment tool does."""
    def until_answered(body: str) -> int:
        for _ in range(COMEBACKS):
            status, _ = poster.post(REGISTER_PATH, body)
            if status != 503:
                return status
            time.sleep(1)
        return status

    with ThreadPoolExecutor(REGISTERING_THREADS) as pool:
        return Counter(pool.map(until_answered, bodies))


def add_stored_rows(fleet: Fleet, count: int, **kinds) -> None:
    """Store ``count`` more (never polled) registrations while the server runs;
    ``kinds``: as ``bench.stored_rows.store_registrations`` takes them."""
    from bench.stored_rows import store_registrations

    init_db(fleet.data_dir)
    try:
        store_registrations(count, **kinds)
        # Checkpoint the write-ahead log, as the months it takes to gather that many rows would have.
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        close_db()
