"""11. A peer side by side: our grant against ``cfssl serve``, both signing at concurrency 4.

cfssl (Cloudflare's PKI toolkit, Debian's golang-cfssl) is what one would run
instead of a home-made CA service. Both sides sign the same EC P-256 CSRs
with the same ECDSA P-256 CA key (the registry's own, handed to cfssl as PEM
files), four at a time:

- cfssl: ``cfssl serve -ca … -ca-key …`` on a free local port; four threads,
  each with its own keep-alive connection, POST ``{"certificate_request": PEM}``
  to ``/api/v1/cfssl/sign`` (cfssl checks the CSR's signature, builds the
  certificate from its default profile and signs it; it stores nothing).
- ours: the core's grant (``RegistrationService.grant``: what ``admin grant``
  and the window call) from four threads over pending requests stored
  beforehand: it loads the request, re-checks the stored CSR, signs, and then
  in one write transaction decides it and stores the certificate, the audit
  entry and the event. Grants asked for while another is under way are done
  by that thread too, in the next transaction, for all of them
  (``server.combining``). The registry's chores run meanwhile, as beside the
  window's grants, the checkpoint of SQLite's write-ahead log among them.

The figure is wall time per certificate (a run's time over the certificates
it issued), beside cfssl's. The two sides run in pairs, back to back, each run
over CSRs of its own (bench.pairs), and the pair with the median ratio is
reported. cfssl's side includes HTTP and JSON, and its client (this process)
shares the machine's cores with it; ours includes SQLite's durable commit.
Where cfssl is missing, the figure says so and why.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from bench.agents import csr_pem, make_key
from bench.bulk_grant import store_pending
from bench.pairs import PAIRS, measure_pairs, median_pair
from bench.registry_server import BENCH_LIMITS
from bench.report import Figure, not_measured
from server.ca import CA_CERT_FILE, CA_KEY_FILE
from server.chores import ChoreRunner, registry_chores
from storage import close_db
from wiring import open_registry

MEASUREMENT = "11 cfssl peer"
CONCURRENCY = 4
CERTIFICATES = 1000  # per run, a half second or so: 400 left the figure to a scheduler's hiccup
WARM_UP = 2 * CONCURRENCY  # per run, untimed: connections, caches, the first transaction
TARGET = "≤ 1.5 × cfssl"
TARGET_RATIO = 1.5
SIGN_PATH = "/api/v1/cfssl/sign"
START_SECONDS = 20
NAME = f"grant at concurrency {CONCURRENCY}, EC P-256 (wall time per certificate)"
INSTALL = "apt-get install golang-cfssl"


def measure(workdir: Path) -> list[Figure]:
    cfssl = shutil.which("cfssl")
    if cfssl is None:
        why = f"skipped: cfssl is not installed (install: {INSTALL})"
        print(f"[bench] {MEASUREMENT}: {why}", file=sys.stderr, flush=True)
        return [Figure(MEASUREMENT, NAME, None, "ms", target=TARGET, note=why)]
    data_dir = workdir / "cfssl-peer"
    service = open_registry(data_dir, limits=BENCH_LIMITS)
    try:
        pems = {f"peer_{number:04d}": csr_pem(f"peer_{number:04d}", make_key())
                for number in range(PAIRS * (WARM_UP + CERTIFICATES))}
        store_pending(pems)
        close_db()
        names, run_length = list(pems), WARM_UP + CERTIFICATES
        runs = [names[first:first + run_length] for first in range(0, len(names), run_length)]
        our_runs, their_runs = iter(runs), iter(runs)

        def ours() -> Run:
            run = next(our_runs)
            return _timed_at_concurrency(lambda name: _grant(service, name), run[:WARM_UP], run[WARM_UP:],
                                         service.release_connection)

        chores = ChoreRunner(registry_chores(service), release=service.release_connection)
        chores.start()
        try:
            with _cfssl_serving(cfssl, data_dir) as theirs:
                pairs = measure_pairs(ours, lambda: theirs([pems[name] for name in next(their_runs)]))
        except _CfsslFailed as failed:
            return [not_measured(MEASUREMENT, NAME, "ms", TARGET, f"cfssl serve failed: {failed}")]
        finally:
            chores.stop()
    finally:
        close_db()
    ours_run, their_run = median_pair(pairs, lambda ours, theirs: ours.per_certificate_ms
                                      / theirs.per_certificate_ms)
    ours_ms, theirs_ms = ours_run.per_certificate_ms, their_run.per_certificate_ms
    ratio = ours_ms / theirs_ms
    details = {"concurrency": CONCURRENCY, "certificates_per_run": CERTIFICATES,
               "pairs": [{"ours": ours.to_json(), "cfssl": theirs.to_json()} for ours, theirs in pairs]}
    note = (f"{ours_run.per_second:,.0f} vs cfssl's {their_run.per_second:,.0f} certificates/s; "
            f"CPU per certificate: ours {ours_run.cpu_ms_per_certificate:.2f} ms, "
            f"cfssl {their_run.server_cpu_ms_per_certificate:.2f} ms "
            f"(+ {their_run.cpu_ms_per_certificate:.2f} ms in its Python client); ratios of the {PAIRS} pairs: "
            + ", ".join(f"{ours.per_certificate_ms / theirs.per_certificate_ms:.2f}" for ours, theirs in pairs))
    return [Figure(MEASUREMENT, NAME, ours_ms, "ms", theirs_ms, "cfssl serve", TARGET, ratio <= TARGET_RATIO,
                   note, details)]


class _CfsslFailed(Exception):
    """cfssl did not start, or did not sign what it was given."""


class Run:
    """One side's timed run."""

    def __init__(self, seconds: float, certificates: int, cpu_seconds: float, server_cpu_seconds: float = 0.0):
        self.seconds, self.certificates = seconds, certificates
        self.cpu_seconds, self.server_cpu_seconds = cpu_seconds, server_cpu_seconds

    @property
    def per_certificate_ms(self) -> float:
        return self.seconds / self.certificates * 1000

    @property
    def per_second(self) -> float:
        return self.certificates / self.seconds

    @property
    def cpu_ms_per_certificate(self) -> float:
        return self.cpu_seconds / self.certificates * 1000

    @property
    def server_cpu_ms_per_certificate(self) -> float:
        return self.server_cpu_seconds / self.certificates * 1000

    def to_json(self) -> dict:
        return {"seconds": round(self.seconds, 3), "certificates": self.certificates,
                "per_certificate_ms": round(self.per_certificate_ms, 3),
                "certificates_per_second": round(self.per_second, 1),
                "this_process_cpu_ms_per_certificate": round(self.cpu_ms_per_certificate, 3),
                "server_process_cpu_ms_per_certificate": round(self.server_cpu_ms_per_certificate, 3)}


def _grant(service, username: str) -> None:
    decision = service.grant(username, "benchmark")
    if decision.certificate_serial is None:
        raise RuntimeError(f"granting {username} issued no certificate")


def _timed_at_concurrency(issue, warm_up: list, timed: list, after_each_thread=lambda: None,
                          server_pid: int | None = None) -> Run:
    """``issue(item)`` for every item on CONCURRENCY threads; the warm-up items first, untimed."""
    pending = iter(timed)
    lock = threading.Lock()
    start = threading.Barrier(CONCURRENCY + 1)

    def work(first: list) -> None:
        try:
            for item in first:
                issue(item)
            start.wait()
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                issue(item)
        finally:
            after_each_thread()

    shares = [warm_up[i::CONCURRENCY] for i in range(CONCURRENCY)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = [pool.submit(work, share) for share in shares]
        start.wait()
        cpu, server_cpu, started = _cpu_seconds(), _process_cpu_seconds(server_pid), time.perf_counter()
        for future in futures:
            future.result()
        seconds = time.perf_counter() - started
    return Run(seconds, len(timed), _cpu_seconds() - cpu, _process_cpu_seconds(server_pid) - server_cpu)


@contextmanager
def _cfssl_serving(cfssl: str, data_dir: Path) -> Iterator[Callable[[list[str]], Run]]:
    """``cfssl serve`` with the registry's CA, running: a function that times it signing
    the CSRs it is given (the first WARM_UP untimed) at CONCURRENCY."""
    folder = data_dir / "cfssl"
    folder.mkdir(mode=0o700)
    ca_key = serialization.load_pem_private_key((data_dir / CA_KEY_FILE).read_bytes(), password=None)
    key_file = folder / "ca-key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(ca_key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.TraditionalOpenSSL,
                                              serialization.NoEncryption()))
    shutil.copyfile(data_dir / CA_CERT_FILE, folder / "ca.pem")
    port = _free_port()
    try:
        with open(folder / "serve.log", "wb") as log:
            process = subprocess.Popen([cfssl, "serve", "-address", "127.0.0.1", "-port", str(port),
                                        "-ca", str(folder / "ca.pem"), "-ca-key", str(key_file)],
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    except (OSError, subprocess.SubprocessError) as error:
        raise _CfsslFailed(error) from error
    try:
        try:
            _wait_until_listening(port, process)
        except (OSError, RuntimeError) as error:
            raise _CfsslFailed(error) from error
        local = threading.local()

        def sign(body: bytes) -> None:
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            local.connection.request("POST", SIGN_PATH, body, {"Content-Type": "application/json"})
            response = local.connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200 or not answer.get("success") or "certificate" not in answer["result"]:
                raise RuntimeError(f"cfssl answered {response.status}: {answer.get('errors')}")

        def close() -> None:
            connection = getattr(local, "connection", None)
            if connection is not None:
                connection.close()
                del local.connection

        def signing(pems: list[str]) -> Run:
            bodies = [json.dumps({"certificate_request": pem}).encode("ascii") for pem in pems]
            try:
                return _timed_at_concurrency(sign, bodies[:WARM_UP], bodies[WARM_UP:], close, process.pid)
            except (OSError, ValueError, RuntimeError, http.client.HTTPException) as error:
                raise _CfsslFailed(error) from error

        yield signing
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cfssl serve exited with {process.returncode} (see serve.log)")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"cfssl serve did not listen within {START_SECONDS} s")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_seconds(pid: int | None) -> float:
    """User and system CPU seconds of another process so far (Linux /proc); 0 without one."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
