"""Whom a connection speaks for (server/web/trusted_proxies.py), on a socket pair: what is
read, what is left for the TLS handshake, what is dropped and what is logged."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from server.web.trusted_proxies import TrustedProxies

BALANCER, AGENT = ("10.0.0.5", 51000), ("192.0.2.7", 40000)
HEADER = b"PROXY TCP4 192.0.2.7 10.0.0.11 40000 8443\r\n"
CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


@pytest.fixture
def connection():
    """(the server's end, the client's end) of a connected pair."""
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        yield server_end, client_end


def in_a_second() -> float:
    return time.monotonic() + 1


def warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize("peer", [BALANCER, ("::ffff:10.0.0.5", 51000)])
def test_a_trusted_peers_header_names_the_agent_and_leaves_the_tls_bytes(connection, peer):
    server_end, client_end = connection
    client_end.sendall(HEADER + CLIENT_HELLO)
    assert TrustedProxies(["10.0.0.5"]).source(server_end, peer, in_a_second()) == AGENT
    assert server_end.recv(100) == CLIENT_HELLO


def test_a_header_that_ends_beyond_the_deadline_is_dropped_quietly(connection, caplog):
    server_end, client_end = connection
    client_end.sendall(HEADER[:20])
    assert TrustedProxies(["10.0.0.5"]).source(server_end, BALANCER, time.monotonic() + 0.2) is None
    assert warnings(caplog) == []


def test_a_trusted_peer_that_leaves_before_its_header_ends_is_dropped_quietly(connection, caplog):
    server_end, client_end = connection
    client_end.sendall(HEADER[:20])
    client_end.close()
    assert TrustedProxies(["10.0.0.5"]).source(server_end, BALANCER, in_a_second()) is None
    assert warnings(caplog) == []


def test_a_trusted_peer_without_a_header_is_dropped_and_logged(connection, caplog):
    server_end, client_end = connection
    client_end.sendall(CLIENT_HELLO)
    assert TrustedProxies(["10.0.0.5"]).source(server_end, BALANCER, in_a_second()) is None
    assert warnings(caplog) == [
        "dropped 1 connections from a trusted proxy without a valid PROXY header (last: 10.0.0.5: no PROXY header)"]


def test_a_header_from_an_untrusted_peer_is_dropped_and_logged(connection, caplog):
    server_end, client_end = connection
    client_end.sendall(HEADER)
    assert TrustedProxies(["10.0.0.5"]).source(server_end, ("10.0.0.6", 50000), in_a_second()) is None
    assert warnings(caplog) == ["dropped 1 connections that began with a PROXY header from an address not "
                                "trusted with --trust-proxy (last: 10.0.0.6)"]


@pytest.mark.parametrize("trusted", [["10.0.0.5"], []])
def test_an_untrusted_peers_tls_is_left_as_it_came(connection, trusted):
    server_end, client_end = connection
    client_end.sendall(CLIENT_HELLO)
    assert TrustedProxies(trusted).source(server_end, ("10.0.0.6", 50000), in_a_second()) == ("10.0.0.6", 50000)
    assert server_end.recv(100) == CLIENT_HELLO


def test_without_trusted_addresses_nothing_is_read_even_a_header(connection):
    server_end, client_end = connection
    client_end.sendall(HEADER)
    assert TrustedProxies().source(server_end, BALANCER, in_a_second()) == BALANCER
    assert server_end.recv(100) == HEADER


def test_a_trusted_address_must_be_an_ip_address():
    with pytest.raises(ValueError):
        TrustedProxies(["balancer.plant.example"])
