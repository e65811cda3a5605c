"""12. Several instances: polls/s of two instances on one PostgreSQL behind HAProxy, against
one instance behind the same HAProxy configuration, same run, same database; and one
instance on PostgreSQL against one on SQLite, both behind HAProxy.

One Python process is held to about one core by the GIL, so on a 2-core machine two
instances should reach 1.5 × one (the issue's target), although wrk, HAProxy and
PostgreSQL share those cores. The rounds alternate (one, two, two, one) and each side
keeps its best, as in measurement 1. Everything runs through the README's HAProxy
configuration (tools/haproxy_config.py), so that only the number of instances and the
database differ between the sides.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.agents import REGISTER_PATH, Poster, registration_body
from bench.fleet import post_all, registry_process
from bench.load import LoadResult, generate_load
from bench.polling import CONNECTIONS, WARM_UP_SECONDS
from bench.report import Figure, not_measured
from server.ca import CA_CERT_FILE, CA_KEY_FILE
from tools.haproxy_config import configuration
from tools.postgres_cluster import PostgresServer, programs

MEASUREMENT = "12 instances"
# Each new agent costs a scrypt hash on every instance it first polls: fewer than
# measurement 1's thousand keeps the set-up short.
AGENTS = 300
BALANCER = "127.0.0.1"
TARGET = 1.5


def measure(workdir: Path, seconds: float) -> list[Figure]:
    missing = [name for name, found in (("PostgreSQL (apt-get install postgresql)", programs()),
                                        ("HAProxy (apt-get install haproxy)", shutil.which("haproxy"))) if not found]
    if missing:
        why = f"{' and '.join(missing)} not installed"
        return [not_measured(MEASUREMENT, "polls/s, two instances behind HAProxy", "req/s", f"≥ {TARGET} × one", why)]
    bodies = [registration_body(f"agent{i:05d}") for i in range(AGENTS)]
    cluster = PostgresServer(programs())
    cluster.start()
    try:
        return _measure(workdir, seconds, bodies, cluster.new_database())
    finally:
        cluster.stop()


def _measure(workdir: Path, seconds: float, bodies: list[str], database_url: str) -> list[Figure]:
    with ExitStack() as stack:
        first = stack.enter_context(_instance(workdir / "pg-one", "--database", database_url))
        _copy_ca(workdir / "pg-one", workdir / "pg-two")
        second = stack.enter_context(_instance(workdir / "pg-two", "--database", database_url))
        sqlite = stack.enter_context(_instance(workdir / "sqlite"))
        one = stack.enter_context(_balancer(workdir, "one", first))
        two = stack.enter_context(_balancer(workdir, "two", first, second))
        only_second = stack.enter_context(_balancer(workdir, "only-second", second))
        on_sqlite = stack.enter_context(_balancer(workdir, "sqlite", sqlite))
        ca_file = workdir / "pg-one" / CA_CERT_FILE
        _register(one.url, ca_file, bodies)
        _register(only_second.url, ca_file, bodies)  # the second instance checks each password once
        _register(on_sqlite.url, workdir / "sqlite" / CA_CERT_FILE, bodies)
        instances_of = {one: (first,), two: (first, second), on_sqlite: (sqlite,)}

        def poll(balancer: Process, duration: float) -> tuple[LoadResult, dict]:
            """The load's result, and the cores each part used meanwhile."""
            watched = {"instances": instances_of[balancer], "haproxy": (balancer,)}
            before = {part: sum(map(cpu_seconds, processes)) for part, processes in watched.items()}
            children, machine = _children_cpu_seconds(), _machine_cpu_seconds()
            result = generate_load(balancer.url, REGISTER_PATH, bodies, connections=CONNECTIONS, seconds=duration,
                                   ca_file=ca_file)
            cores = {part: (sum(map(cpu_seconds, processes)) - before[part]) / result.seconds
                     for part, processes in watched.items()}
            cores["wrk"] = (_children_cpu_seconds() - children) / result.seconds
            cores["machine"] = (_machine_cpu_seconds() - machine) / result.seconds
            return result, {part: round(value, 2) for part, value in cores.items()}

        for balancer in (one, two, on_sqlite):
            poll(balancer, WARM_UP_SECONDS)
        rounds: dict[Process, list[tuple[LoadResult, dict]]] = {one: [], two: [], on_sqlite: []}
        for order in ((one, two, on_sqlite), (on_sqlite, two, one)):
            for balancer in order:
                rounds[balancer].append(poll(balancer, seconds))
    (single, _), (double, double_cores), (lite, _) = (
        max(rounds[side], key=lambda pair: pair[0].requests_per_second) for side in (one, two, on_sqlite))
    ratio = double.requests_per_second / single.requests_per_second
    details = {"agents": len(bodies), "connections": CONNECTIONS,
               **{name: [dict(result.to_json(), cores=cores) for result, cores in rounds[side]] for name, side in
                  (("one_rounds", one), ("two_rounds", two), ("sqlite_rounds", on_sqlite))}}
    note = "; ".join([f"{name}: {result.unexpected(202)}" for name, result in
                      (("two", double), ("one", single), ("sqlite", lite)) if result.unexpected(202)]
                     + ["cores used with two instances: " + ", ".join(f"{part} {value:.2f}"
                                                                      for part, value in double_cores.items())])
    return [
        Figure(MEASUREMENT, "polls/s, two instances on PostgreSQL behind HAProxy", double.requests_per_second,
               "req/s", single.requests_per_second, "one instance", f"≥ {TARGET} × one", ratio >= TARGET, note,
               details),
        Figure(MEASUREMENT, "poll p99, two instances", double.p99_ms, "ms", single.p99_ms, "one instance"),
        Figure(MEASUREMENT, "polls/s, one instance on PostgreSQL", single.requests_per_second, "req/s",
               lite.requests_per_second, "one on SQLite"),
        Figure(MEASUREMENT, "poll p99, one instance on PostgreSQL", single.p99_ms, "ms", lite.p99_ms,
               "one on SQLite"),
    ]


def _register(url: str, ca_file: Path, bodies: list[str]) -> None:
    statuses = post_all(Poster(url, ca_file), bodies)
    if statuses != {202: len(bodies)}:
        raise RuntimeError(f"registering through {url} answered {dict(statuses)}, not 202 to all")


def _copy_ca(source: Path, target: Path) -> None:
    target.mkdir(mode=0o700)
    for name in (CA_KEY_FILE, CA_CERT_FILE):
        shutil.copy(source / name, target / name)
        (target / name).chmod(0o600)


@dataclass(frozen=True)
class Process:
    pid: int
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def cpu_seconds(process: Process) -> float:
    """User and system CPU time of a running process (Linux)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    """CPU time of the children waited for so far: wrk's, once a round is over."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_cpu_seconds() -> float:
    """CPU time every core spent busy (Linux /proc/stat): all processes, other users' too."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _instance(data_dir: Path, *arguments: str) -> Iterator[Process]:
    """The bench registry server behind a balancer on 127.0.0.1."""
    with registry_process(data_dir, "--trust-proxy", BALANCER, *arguments) as (url, pid):
        yield Process(pid, url)


@contextmanager
def _balancer(workdir: Path, name: str, *instances: Process) -> Iterator[Process]:
    """HAProxy with the README's configuration in front of ``instances``."""
    with socket.socket() as probe:
        probe.bind((BALANCER, 0))
        port = probe.getsockname()[1]
    path = workdir / f"haproxy-{name}.cfg"
    path.write_text(configuration(port, *(f"127.0.0.1:{instance.port}" for instance in instances)))
    with open(workdir / f"haproxy-{name}.log", "w") as log:
        process = subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(BALANCER, port, process)
        time.sleep(2.5)  # its first health checks pass: until then it would send agents nowhere
        yield Process(process.pid, f"https://{BALANCER}:{port}")
    finally:
        process.terminate()
        process.wait()


def _wait_for(host: str, port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"HAProxy did not listen on {host}:{port}")
