"""Floods of connections cannot stop the server answering an honest client (issue 13, severe 2).

Each attack runs from other loopback addresses (127.0.0.2 and up: Linux routes
all of 127.0.0.0/8 to the loopback interface), is bounded in count and time,
and stops by itself; the honest client on 127.0.0.1 must be served within
HONEST_SECONDS while it lasts.
"""

from __future__ import annotations

import http.client
import resource
import socket
import ssl
import struct
import sys
import threading
import time
from contextlib import ExitStack, contextmanager

import pytest
from cheroot import errors

from server.web.admission import OPEN_PER_ADDRESS
from server.web.connections import DeferredHandshakeAdapter
from tests.processes import Registry, wait_until

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs all of 127.0.0.0/8 on loopback")

HONEST_SECONDS = 2
STOCK_OPEN_FILES = 1024


def honest_request(port: int) -> int:
    """GET the CA certificate from 127.0.0.1, giving up after HONEST_SECONDS; the status."""
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=HONEST_SECONDS,
                                             context=ssl._create_unverified_context())
    try:
        connection.request("GET", "/api/client-registry/ca")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def served_throughout(port: int, times: int = 4, every: float = 0.5) -> None:
    for _ in range(times):
        assert honest_request(port) == 200
        time.sleep(every)


def idle_connections(stack: ExitStack, port: int, source: str, count: int) -> None:
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        except OSError:
            continue  # the server's backlog was full for a moment: one fewer, still a flood
        stack.callback(sock.close)


@pytest.fixture
def own_descriptors():
    """Room in this process for the attacker's sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip("the test process itself may not open enough sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def stock_registry(tmp_path):
    """``main.py --headless`` under a stock open-file limit it cannot raise."""
    registry = Registry(tmp_path, open_files=STOCK_OPEN_FILES)
    registry.start()
    yield registry
    registry.stop()


def test_a_thousand_idle_connections_from_one_address_do_not_stop_the_server(own_descriptors, stock_registry):
    with ExitStack() as stack:
        idle_connections(stack, stock_registry.port, "127.0.0.2", 1100)
        served_throughout(stock_registry.port)
    log = stock_registry.log.read_text()
    assert "Too many open files" not in log
    refusals = [line for line in log.splitlines() if f"beyond {OPEN_PER_ADDRESS} open from one address" in line]
    assert 1 <= len(refusals) <= 2  # rate-limited: one line, not one per refusal


def test_running_out_of_descriptors_logs_a_line_not_a_flood(own_descriptors, stock_registry):
    with ExitStack() as stack:
        for host in range(2, 22):  # 20 addresses x 60: more than the server's 1,024 descriptors
            idle_connections(stack, stock_registry.port, f"127.0.0.{host}", 60)
        time.sleep(1)  # the server meets the limit and keeps meeting it
    wait_until(lambda: _served(stock_registry.port), "the server to answer again once the flood is gone")
    log = stock_registry.log.read_text()
    assert "Traceback" not in log
    assert 1 <= log.count("Too many open files") <= 3


def _served(port: int) -> bool:
    try:
        return honest_request(port) == 200
    except OSError:
        return False


@contextmanager
def trickling(port: int, sources: list[str], per_source: int, seconds: float):
    """Slowloris: from each source, ``per_source`` connections that send a request a
    byte every 0.3 s and reconnect when cut; all stop after ``seconds``."""
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def attacker(source: str) -> None:
        context = ssl._create_unverified_context()
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(source, 0))
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"POST /api/client-registry/register HTTP/1.1\r\nHost: x\r\n")
                    while not stop.wait(0.3) and time.monotonic() < deadline:
                        tls.sendall(b"X")
            except OSError:
                continue

    threads = [threading.Thread(target=attacker, args=(source,)) for source in sources for _ in range(per_source)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # every attacker connected and trickling
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_slowloris_from_several_addresses_cannot_starve_honest_requests(server):
    with trickling(server.port, [f"127.0.0.{host}" for host in range(2, 9)], per_source=8, seconds=15):
        served_throughout(server.port, times=6)


@contextmanager
def slow_readers(port: int, source: str, count: int, seconds: float):
    """Connections that pipeline requests for the OpenAPI document and read
    16 KiB of the answers every 7 s; all closed after ``seconds``."""
    request = b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 40
    context = ssl._create_unverified_context()
    with ExitStack() as stack:
        readers = []
        for _ in range(count):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.bind((source, 0))
            raw.settimeout(5)
            try:
                raw.connect(("127.0.0.1", port))
                tls = stack.enter_context(context.wrap_socket(raw))
                tls.sendall(request)
            except OSError:
                raw.close()
                continue
            readers.append(tls)
        stop = threading.Event()

        def read_slowly() -> None:
            while not stop.wait(7):
                for tls in readers:
                    try:
                        tls.recv(16 * 1024)
                    except OSError:
                        pass

        reader = threading.Thread(target=read_slowly)
        reader.start()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        try:
            yield
        finally:
            stop.set()
            timer.cancel()
            reader.join()


def test_slow_readers_from_one_address_cannot_starve_honest_requests(server):
    with slow_readers(server.port, "127.0.0.2", 150, seconds=15):
        time.sleep(1.5)  # the workers have written what the kernel takes, and wait
        served_throughout(server.port, times=6)


def test_a_client_that_sent_bytes_and_reset_before_it_was_accepted_is_dropped_quietly():
    """Python will not wrap its socket; the adapter says so in the one way cheroot takes
    quietly (FatalSSLAlert: dropped, logged at debug), not as the server failing."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        client.sendall(b"\r\n\r\n\x00\r\nQUIT\n")  # as HAProxy sends its PROXY header at once
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset
        accepted, _ = listener.accept()
        with pytest.raises(errors.FatalSSLAlert):
            DeferredHandshakeAdapter(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)).wrap(accepted)
