"""One connection cannot make the server hold what it sends (issue 13, severe 1).

The server runs as a real process (``main.py --headless``), a fresh one for
each attack; its peak resident memory (VmHWM) is read from /proc before and
after the attack.
"""

from __future__ import annotations

import itertools
import ssl
import time
from pathlib import Path

import pytest

from tests.raw_http import exchange, tls_connection

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")

MIB = 1024 * 1024
ATTACK_MIB = 48  # what an unbounded server would hold; far above the allowance
ALLOWANCE_MIB = 8  # "a few MiB over its idle size"
POST = b"POST /api/client-registry/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def numbered_headers():
    for number in itertools.count():
        yield b"X-%d: v\r\n" % number


ATTACKS = {
    "negative Content-Length": (POST + b"Content-Length: -1\r\n\r\n", itertools.repeat(b"x" * 1024)),
    "a request line that never ends": (b"POST /", itertools.repeat(b"a" * 1024)),
    "a header line that never ends": (POST + b"X-Long: ", itertools.repeat(b"a" * 1024)),
    "many small headers": (POST, numbered_headers()),
    "a chunk size that never ends": (POST + b"Transfer-Encoding: chunked\r\n\r\n", itertools.repeat(b"0" * 1024)),
    "one huge chunk": (POST + b"Transfer-Encoding: chunked\r\n\r\n40000000\r\n", itertools.repeat(b"x" * 1024)),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_an_attack_costs_the_server_at_most_a_few_mib(registry, name):
    warm_up(registry.port)
    before = peak_kib(registry.process.pid)
    start, filler = ATTACKS[name]
    with tls_connection(registry.port) as tls:
        send_until_cut(tls, start, filler)
        after = peak_kib(registry.process.pid)
    assert (after - before) / 1024 < ALLOWANCE_MIB, f"{name}: the server grew by {(after - before) // 1024} MiB"


def warm_up(port: int) -> None:
    """What every first request allocates once (TLS, the app, a worker's buffers)."""
    for _ in range(3):
        assert exchange(port, b"GET /api/client-registry/ca HTTP/1.1\r\nHost: x\r\n\r\n").status == 200
        exchange(port, POST + b"Content-Length: 2\r\n\r\n{}")


def send_until_cut(tls: ssl.SSLSocket, start: bytes, filler) -> None:
    """``start``, then ATTACK_MIB of ``filler`` in 1 MiB writes, until the server
    closes the connection; then give it a moment to read what it was sent."""
    tls.settimeout(10)
    deadline = time.monotonic() + 20
    try:
        tls.sendall(start)
        for _ in range(ATTACK_MIB):
            block = bytearray()
            while len(block) < MIB:
                block += next(filler)
            tls.sendall(block)
            if time.monotonic() > deadline:
                break
    except OSError:
        return  # cut off: what the fix does
    tls.settimeout(2)
    try:
        tls.recv(1)
    except OSError:
        pass
