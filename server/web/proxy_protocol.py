"""The PROXY protocol, versions 1 and 2: the header a load balancer sends ahead of
a connection's own bytes to say whom it carries. Pure functions over bytes.

The specification is https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt.
Only what a TCP server needs is kept: the source address and port of a TCP
connection over IPv4 or IPv6. A header that says "this is the balancer's own
connection" (a v2 LOCAL command, as HAProxy's health checks send; v1
``UNKNOWN``; v2 UNSPEC, UDP or UNIX addresses, which the specification lets a
receiver treat as UNSPEC) names no source: the connection's peer stands.
Anything malformed, truncated or longer than a header may be is refused, so
that a confused balancer is noticed rather than half-understood.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["MAX_HEADER_BYTES", "V2_SIGNATURE", "ProxyHeader", "ProxyHeaderError", "header_length",
           "looks_like_proxy_header", "parse_header"]

V1_PREFIX = b"PROXY "
V1_MAX_BYTES = 107  # the longest line the specification allows: "PROXY UNKNOWN" and two full IPv6 endpoints
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED_BYTES = 16  # the signature, version and command, family and protocol, length
# The addresses take at most 216 bytes (two UNIX paths); the rest would be TLVs, which
# HAProxy sends only when told to, and which this server does not read.
MAX_HEADER_BYTES = 512

_V2_LOCAL, _V2_PROXY = 0x20, 0x21  # version 2 in the high nibble, the command in the low one
_V2_TCP4, _V2_TCP6 = 0x11, 0x21  # address family in the high nibble, transport protocol in the low one
# Combinations the specification defines that carry no TCP source: UNSPEC, UDP over IPv4
# and IPv6, UNIX stream and datagram; with the bytes each address block takes at least.
_V2_NO_TCP_SOURCE = {0x00: 0, 0x12: 12, 0x22: 36, 0x31: 216, 0x32: 216}
_V2_ADDRESS_BYTES = {_V2_TCP4: 4, _V2_TCP6: 16}

# "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n": single spaces, nothing else.
_V1_LINE = re.compile(rb"PROXY (TCP4|TCP6) ([0-9a-fA-F.:]+) ([0-9a-fA-F.:]+) ([0-9]{1,5}) ([0-9]{1,5})\r\n")
_V1_UNKNOWN = re.compile(rb"PROXY UNKNOWN(?: [^\r\n]*)?\r\n")


class ProxyHeaderError(ValueError):
    """Bytes that are not a PROXY header this server accepts; the message says why."""


@dataclass(frozen=True)
class ProxyHeader:
    """What a PROXY header said: the source's (address, port), or None for the balancer's
    own connection (the peer's address stands)."""

    source: tuple[str, int] | None


def looks_like_proxy_header(first_bytes: bytes) -> bool:
    """Whether a connection's first bytes (however few have arrived) begin a PROXY header
    of either version. A TLS ClientHello starts with 0x16, so it never does."""
    return bool(first_bytes) and (_agree(first_bytes, V1_PREFIX) or _agree(first_bytes, V2_SIGNATURE))


def header_length(data: bytes) -> int | None:
    """The whole header's length in bytes, once ``data`` (a connection's first bytes)
    shows it; None while ``data`` is still the start of a header that may be valid.

    Bytes up to that length are the header's and nothing else's: a reader may take
    them, and must take no more, for the bytes after it are the client's own (TLS).
    """
    if _agree(data, V2_SIGNATURE):
        if len(data) < V2_FIXED_BYTES:
            return None
        length = V2_FIXED_BYTES + int.from_bytes(data[14:16], "big")
        if length > MAX_HEADER_BYTES:
            raise ProxyHeaderError(f"a PROXY v2 header of {length} bytes is longer than the {MAX_HEADER_BYTES} "
                                   "accepted")
        return length
    if not _agree(data, V1_PREFIX):
        raise ProxyHeaderError("no PROXY header")
    end = data.find(b"\r\n", 0, V1_MAX_BYTES)
    if end >= 0:
        return end + 2
    if len(data) >= V1_MAX_BYTES:
        raise ProxyHeaderError(f"a PROXY v1 line longer than {V1_MAX_BYTES} bytes")
    return None


def parse_header(header: bytes) -> ProxyHeader:
    """The PROXY header that is all of ``header`` (``header_length`` bytes), version 1 or 2."""
    if header_length(header) != len(header):
        raise ProxyHeaderError("an incomplete PROXY header, or bytes after it")
    if header.startswith(V2_SIGNATURE):
        return _parse_v2(header)
    return _parse_v1(header)


def _agree(data: bytes, start: bytes) -> bool:
    """Whether ``data`` and ``start`` are the same as far as both go."""
    return data[:len(start)] == start[:len(data)]


def _parse_v1(line: bytes) -> ProxyHeader:
    if _V1_UNKNOWN.fullmatch(line):
        return ProxyHeader(None)
    match = _V1_LINE.fullmatch(line)
    if match is None:
        raise ProxyHeaderError("a malformed PROXY v1 line")
    family, source, destination, source_port, destination_port = match.groups()
    version = 4 if family == b"TCP4" else 6
    address = _v1_address(source, version)
    _v1_address(destination, version)
    return ProxyHeader((address, _v1_port(source_port)))


def _v1_address(text: bytes, version: int) -> str:
    try:
        address = ipaddress.ip_address(text.decode("ascii"))
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise ProxyHeaderError(f"a PROXY v1 line with a bad IPv{version} address")
    return str(address)


def _v1_port(text: bytes) -> int:
    # Decimal without leading zeros, as the specification writes it.
    if (len(text) > 1 and text.startswith(b"0")) or int(text) > 65535:
        raise ProxyHeaderError("a PROXY v1 line with a bad port")
    return int(text)


def _parse_v2(header: bytes) -> ProxyHeader:
    command, family, addresses = header[12], header[13], header[V2_FIXED_BYTES:]
    if command not in (_V2_LOCAL, _V2_PROXY):
        raise ProxyHeaderError(f"a PROXY v2 header with an unknown version or command {command:#04x}")
    size = _V2_ADDRESS_BYTES.get(family)
    least = 2 * size + 4 if size else _V2_NO_TCP_SOURCE.get(family)
    if least is None:
        raise ProxyHeaderError(f"a PROXY v2 header with an unknown address family {family:#04x}")
    if len(addresses) < least:
        raise ProxyHeaderError("a PROXY v2 header too short for its addresses")
    if command == _V2_LOCAL or not size:
        return ProxyHeader(None)
    # Source address, destination address, source port, destination port; TLVs after
    # them are not read.
    address = ipaddress.ip_address(addresses[:size])
    port = int.from_bytes(addresses[2 * size:2 * size + 2], "big")
    return ProxyHeader((str(address), port))
