"""Whom a connection speaks for: its peer, or, when the peer is a load balancer trusted
with ``--trust-proxy``, the agent that the balancer's PROXY header names.

The header is read on the raw TCP socket before the TLS handshake, so that TLS
and mutual TLS stay end to end through a balancer in TCP mode; exactly the
header's bytes are taken (``server.web.proxy_protocol`` says how many), never
the ClientHello after them. Then:

- from a trusted address the header is required: HAProxy's ``send-proxy-v2``
  sends one on every connection, its health checks included (a LOCAL command:
  the balancer's own address stands); a connection that begins with anything
  else is dropped, logged once in a while, since it means the balancer is set
  up wrong; one that is closed or stalls before its header ends is dropped
  quietly, as a failed TLS handshake is;
- from any other address a connection that begins like a PROXY header is
  dropped, logged once in a while: only the balancer may say whom a
  connection is for;
- without trusted addresses nothing is read or peeked: every connection is
  its peer's, as before.
"""

from __future__ import annotations

import ipaddress
import logging
import selectors
import socket
import time
from collections.abc import Iterable

from server.web.admission import RateLimitedLog
from server.web.proxy_protocol import (
    MAX_HEADER_BYTES, V2_SIGNATURE, ProxyHeader, ProxyHeaderError, header_length, looks_like_proxy_header,
    parse_header,
)

__all__ = ["TrustedProxies"]

log = logging.getLogger(__name__)

Address = tuple[str, int]


class TrustedProxies:
    """The load balancers whose PROXY headers are believed (exact IP addresses)."""

    def __init__(self, addresses: Iterable[str] = ()):
        """Raises ValueError for an address that is not an IP address."""
        self._addresses = frozenset(_comparable(address) for address in addresses)
        self._untrusted = RateLimitedLog("dropped %d connections that began with a PROXY header from an address "
                                         "not trusted with --trust-proxy (last: %s)", log)
        self._headerless = RateLimitedLog("dropped %d connections from a trusted proxy without a valid PROXY "
                                          "header (last: %s: %s)", log)

    def sends_headers(self, peer: str) -> bool:
        """Whether connections from ``peer`` carry a PROXY header (and so another's address)."""
        return bool(self._addresses) and _comparable(peer) in self._addresses

    def source(self, sock: socket.socket, peer: Address, deadline: float) -> Address | None:
        """The (address, port) a new connection speaks for, reading its PROXY header by
        ``deadline`` (a monotonic time) when ``peer`` is trusted; None: drop it."""
        if not self._addresses:
            return peer
        if self.sends_headers(peer[0]):
            try:
                header = _read_header(sock, deadline)
            except ProxyHeaderError as error:  # the balancer is set up wrong: worth a line
                self._headerless.note(peer[0], error)
                return None
            except OSError:  # closed, reset or too slow, as when its client left early: as a failed handshake
                return None
            return header.source or peer
        if looks_like_proxy_header(_first_bytes(sock)):
            self._untrusted.note(peer[0])
            return None
        return peer


def _comparable(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as compared with the trusted ones: a server bound to ``::`` sees an IPv4
    balancer as ``::ffff:10.0.0.5``."""
    parsed = ipaddress.ip_address(address)
    return getattr(parsed, "ipv4_mapped", None) or parsed


def _first_bytes(sock: socket.socket) -> bytes:
    """What the client has sent so far, up to a v2 signature's length, left unread.

    ``socket.socket``'s own recv, here and below, reads the descriptor beneath a not
    yet handshaken TLS socket, whose recv would expect TLS records."""
    try:
        return socket.socket.recv(sock, len(V2_SIGNATURE), socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # nothing yet, or reset: the handshake will tell
        return b""


def _read_header(sock: socket.socket, deadline: float) -> ProxyHeader:
    """Take exactly the PROXY header off ``sock``, however slowly it arrives, by ``deadline``.

    Each round peeks at what has arrived and takes only what the header's length
    allows; a v1 line's length is known only once its end has arrived, and all
    bytes before that end are the line's."""
    received = b""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while (length := header_length(received)) is None or len(received) < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise TimeoutError("no whole PROXY header in time")
            available = socket.socket.recv(sock, MAX_HEADER_BYTES - len(received), socket.MSG_PEEK)
            if not available:
                raise ConnectionError("closed before the end of its PROXY header")
            length = header_length(received + available)
            received += socket.socket.recv(sock, len(available) if length is None else length - len(received))
    return parse_header(received)
