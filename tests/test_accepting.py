"""Accepting connections: every one waiting at each turn while few are still opening, and
keep-alive connections kept open however many wait (issue 17)."""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest

from server.ca import CA_CERT_FILE
from server.web import connections
from server.web.connections import GuardedServer

CHEROOTS_KEEP_ALIVE_LIMIT = 10


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


@pytest.fixture
def unserved():
    """A guarded plain-HTTP server bound and prepared, its connection loop not running:
    the test turns the loop's accepting step itself."""
    server = GuardedServer(("127.0.0.1", 0), hello_app, numthreads=2, request_queue_size=16)
    server.prepare()
    yield server
    server.stop()


def test_a_turn_accepts_every_connection_waiting_until_enough_are_opening(unserved, monkeypatch):
    monkeypatch.setattr(connections, "OPENING_AT_ONCE", 5)
    clients = [socket.create_connection(unserved.bind_addr, timeout=5) for _ in range(8)]
    try:
        accept_turn = unserved._connections._from_server_socket

        first = accept_turn(unserved.socket)
        assert first is not None
        assert unserved.opening.count == 5  # the first and four more, in one turn
        assert accept_turn(unserved.socket) is not None  # beyond the bound: one a turn, as cheroot does
        assert unserved.opening.count == 6

        first.close()  # closed before it ever opened (silent until it expired, say): no longer counted
        assert unserved.opening.count == 5

        assert accept_turn(unserved.socket) is not None
        assert accept_turn(unserved.socket) is not None
        assert unserved.opening.count == 7
        # Nothing waits now: the listening socket does not block (cheroot's own waits a second).
        assert unserved.socket.gettimeout() == 0.0
        assert accept_turn(unserved.socket) is None
    finally:
        for client in clients:
            client.close()


def test_connections_silent_since_their_accept_stop_holding_accepting_back(unserved, monkeypatch):
    """Silent connections stay open until the idle timeout, but count as opening only for
    OPENING_SECONDS: a few of them cannot keep accepting to one a turn."""
    monkeypatch.setattr(connections, "OPENING_AT_ONCE", 3)
    monkeypatch.setattr(connections, "OPENING_SECONDS", 0)
    silent = [socket.create_connection(unserved.bind_addr, timeout=5) for _ in range(3)]
    arriving = []
    try:
        accept_turn = unserved._connections._from_server_socket
        assert accept_turn(unserved.socket) is not None
        assert unserved.opening.count == 3

        unserved._connections._expire(threshold=0)  # the loop's sweep; nothing is idle that long
        assert unserved.opening.count == 0
        assert unserved._connections._num_connections == 2  # still open, waiting in the selector
        arriving = [socket.create_connection(unserved.bind_addr, timeout=5) for _ in range(3)]
        assert accept_turn(unserved.socket) is not None
        assert unserved.opening.count == 3  # all three in one turn again
    finally:
        for client in silent + arriving:
            client.close()


def test_keep_alive_connections_stay_open_beyond_cheroots_ten(server, tmp_path):
    """A balancer or a persistent client keeps its connections: no "Connection: close" (and
    no new handshake at its next request) because many others are open and idle."""
    context = ssl.create_default_context(cafile=str(tmp_path / "data" / CA_CERT_FILE))
    clients = [http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
               for _ in range(3 * CHEROOTS_KEEP_ALIVE_LIMIT)]
    try:
        for round_ in range(2):
            for client in clients:
                client.request("GET", "/api/client-registry/ca")
                answer = client.getresponse()
                answer.read()
                assert answer.status == 200
                assert answer.getheader("Connection") != "close", f"round {round_ + 1}"
        assert server._server._server.opening.count == 0  # each opened: none counted as opening
    finally:
        for client in clients:
            client.close()
