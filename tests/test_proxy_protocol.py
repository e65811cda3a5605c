"""The PROXY protocol parser, on byte strings (the headers as HAProxy 2.6 sends them)."""

from __future__ import annotations

import pytest

from server.web.proxy_protocol import (
    MAX_HEADER_BYTES, ProxyHeader, ProxyHeaderError, header_length, looks_like_proxy_header, parse_header,
)

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
TLS_CLIENT_HELLO_START = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


def v2(command: int, family: int, addresses: bytes) -> bytes:
    return SIGNATURE + bytes([command, family]) + len(addresses).to_bytes(2, "big") + addresses


# What HAProxy 2.6 sent with send-proxy-v2, captured: an agent at 127.0.0.2:38205, and a health check.
HAPROXY_V2 = v2(0x21, 0x11, bytes([127, 0, 0, 2, 127, 0, 0, 1]) + (38205).to_bytes(2, "big") + b"\x49\x70")
HAPROXY_V2_HEALTH_CHECK = SIGNATURE + b"\x20\x00\x00\x00"
IPV6_SOURCE = bytes.fromhex("20010db8000000000000000000000001")
IPV6_DESTINATION = bytes.fromhex("20010db8000000000000000000000002")
TCP6 = v2(0x21, 0x21, IPV6_SOURCE + IPV6_DESTINATION + (40000).to_bytes(2, "big") + (443).to_bytes(2, "big"))


@pytest.mark.parametrize("header, source", [
    (b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", ("192.0.2.1", 56324)),
    (b"PROXY TCP6 2001:db8::1 2001:db8::2 40000 443\r\n", ("2001:db8::1", 40000)),
    (b"PROXY TCP4 10.0.0.1 10.0.0.2 0 65535\r\n", ("10.0.0.1", 0)),
    (b"PROXY UNKNOWN\r\n", None),
    (b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", None),
    (HAPROXY_V2, ("127.0.0.2", 38205)),
    (TCP6, ("2001:db8::1", 40000)),
    (HAPROXY_V2_HEALTH_CHECK, None),  # LOCAL: the balancer's own connection
    (v2(0x20, 0x11, bytes(12)), None),  # LOCAL with addresses: they are not read
    (v2(0x21, 0x00, b""), None),  # PROXY over UNSPEC: the peer stands
    (v2(0x21, 0x12, bytes(12)), None),  # UDP: no TCP source, the peer stands
    (v2(0x21, 0x31, bytes(216)), None),  # UNIX stream
])
def test_a_header_names_the_source_or_leaves_the_peer(header, source):
    assert header_length(header) == len(header)
    assert parse_header(header) == ProxyHeader(source)


def test_tlvs_after_the_addresses_are_skipped():
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x10" + bytes(16)  # ALPN, NOOP padding
    header = v2(0x21, 0x11, HAPROXY_V2[16:] + tlvs)
    assert parse_header(header) == ProxyHeader(("127.0.0.2", 38205))


@pytest.mark.parametrize("header", [HAPROXY_V2, b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"])
def test_the_length_is_known_without_the_bytes_that_follow(header):
    """The client's TLS bytes after the header are never counted as the header's."""
    assert header_length(header + TLS_CLIENT_HELLO_START) == len(header)
    for cut in range(len(header)):
        assert header_length(header[:cut]) in (None, len(header))
    assert header_length(header[:15]) is None and header_length(b"PROXY TCP4 192.0") is None


@pytest.mark.parametrize("start, expected", [
    (b"P", True), (b"PROXY", True), (b"PROXY TCP4", True), (b"\r", True), (SIGNATURE, True),
    (HAPROXY_V2, True), (b"", False), (TLS_CLIENT_HELLO_START, False), (b"POST / HTTP/1.1", False),
    (b"\r\n\r\nGET", False), (b"proxy ", False),
])
def test_what_looks_like_a_proxy_header(start, expected):
    assert looks_like_proxy_header(start) is expected


@pytest.mark.parametrize("data", [
    TLS_CLIENT_HELLO_START,
    b"GET / HTTP/1.1\r\n",
    b"PROXY TCP4 " + b"1" * 100,  # no line end within 107 bytes
    v2(0x21, 0x11, bytes(MAX_HEADER_BYTES)),  # announces more than is accepted
    SIGNATURE[:11] + b"X" + b"\x21\x11\x00\x0c",
])
def test_the_length_of_what_is_no_acceptable_header_is_refused(data):
    with pytest.raises(ProxyHeaderError):
        header_length(data)


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",  # a port missing
    b"PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n",  # two spaces
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",  # no CR
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",
    b"PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",  # the wrong family
    b"PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n",
    b"PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n",
    b"PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n",  # leading zero
    b"PROXY UDP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    b"PROXY UNKNOWNX\r\n",
    b"PROXY \r\n",
    v2(0x22, 0x11, HAPROXY_V2[16:]),  # an unknown command
    v2(0x11, 0x11, HAPROXY_V2[16:]),  # version 1 inside a v2 signature
    v2(0x21, 0x41, HAPROXY_V2[16:]),  # an unknown family
    v2(0x21, 0x13, HAPROXY_V2[16:]),  # an unknown protocol
    v2(0x21, 0x11, HAPROXY_V2[16:27]),  # one byte short of its addresses
    v2(0x21, 0x21, bytes(35)),
    v2(0x21, 0x31, bytes(215)),
    HAPROXY_V2[:-1],  # truncated
    HAPROXY_V2 + b"\x16",  # with a byte that is not the header's
    b"",
])
def test_a_malformed_truncated_or_padded_header_is_refused(header):
    with pytest.raises(ProxyHeaderError):
        parse_header(header)
