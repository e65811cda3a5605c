"""Silent and trickling connections (half-open TLS, slowloris) cannot starve honest agents."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time

import pytest

from server.web.connections import BUSY_PER_ADDRESS
from server.web.http_server import WORKER_THREADS
from tests.helpers import Client

HONEST_TIMEOUT = 5  # seconds: far below what a starved client would wait


@pytest.fixture
def attacker(server):
    """Opens hostile connections to the server; closes them all at the end."""
    sockets: list[socket.socket] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    class Attacker:
        def silent(self, count: int) -> None:
            """TCP connections that never send a byte (a half-open TLS handshake)."""
            for _ in range(count):
                sockets.append(socket.create_connection(("127.0.0.1", server.port)))

        def partial_hello(self, count: int) -> None:
            """TLS connections stuck inside the handshake: a few bytes of ClientHello."""
            for _ in range(count):
                raw = socket.create_connection(("127.0.0.1", server.port))
                raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                sockets.append(raw)

        def trickling(self, count: int) -> list[ssl.SSLSocket]:
            """Slowloris: a finished handshake, then a request one byte at a time."""
            context = ssl._create_unverified_context()
            opened = []
            for _ in range(count):
                tls = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)))
                tls.sendall(b"POST /api/client-registry/register HTTP/1.1\r\nHost: x\r\n")
                sockets.append(tls)
                opened.append(tls)

            def drip():
                while not stop.wait(0.3):
                    for tls in opened:
                        try:
                            tls.sendall(b"X")
                        except OSError:
                            pass
            thread = threading.Thread(target=drip)
            thread.start()
            threads.append(thread)
            return opened

    yield Attacker()
    stop.set()
    for thread in threads:
        thread.join()
    for sock in sockets:
        sock.close()


def test_silent_and_half_open_connections_take_no_worker(attacker, client):
    attacker.silent(3 * WORKER_THREADS)
    attacker.partial_hello(WORKER_THREADS)
    assert request_with_timeout(client, HONEST_TIMEOUT).status == 423


def test_trickling_requests_cannot_hold_every_worker(attacker, client):
    attacker.trickling(WORKER_THREADS + 8)
    assert request_with_timeout(client, HONEST_TIMEOUT).status == 423


def test_one_address_trickling_many_requests_is_cut_short(attacker):
    connections = attacker.trickling(BUSY_PER_ADDRESS + 4)
    time.sleep(3)  # the short deadline is one second; the normal one, ten
    closed = 0
    for tls in connections:
        tls.settimeout(0.2)
        try:
            answer = tls.recv(200)
        except (TimeoutError, ssl.SSLWantReadError):
            continue
        except OSError:
            closed += 1
            continue
        if answer == b"" or answer.startswith(b"HTTP/1.1 408"):
            closed += 1
    assert closed >= 4


def request_with_timeout(client: Client, seconds: float):
    """One honest registration that gives up after ``seconds``."""
    connection = http.client.HTTPSConnection("localhost", client.port, context=client.context, timeout=seconds)
    try:
        connection.request("POST", "/api/client-registry/register",
                           body=b'{"username": "honest", "password": "pw-12345"}',
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()
