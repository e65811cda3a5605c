"""What every wire adapter reads off an HTTP request the same way: the body (bounded),
HTTP Basic credentials, the client certificate, the peer's address.

Only the reading is shared; how each adapter answers a problem is its own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from bottle import HTTPResponse, request

from server.web.requests import BodyTooLarge

# Set by the HTTP server (server.web.http_server) when a client presented a certificate
# that chains to our CA.
CLIENT_CERTIFICATE_KEY = "client_registry.client_certificate_der"
# Set by the HTTP server: when the request arrived (time.monotonic()), its connection's accept
# for the first request on it.
ARRIVED_KEY = "client_registry.arrived"
# Sent with every 401, so that clients which wait for a challenge (curl --anyauth,
# cisco/libest) then send their Basic credentials.
BASIC_CHALLENGE = 'Basic realm="Client Registry", charset="UTF-8"'
DRAIN_BYTES = 1024 * 1024


def source() -> str:
    # The socket's peer, never X-Forwarded-For: any client can write that header.
    return request.environ.get("REMOTE_ADDR", "")


def arrived() -> float | None:
    """When the request reached the server (time.monotonic()); None where no server says."""
    return request.environ.get(ARRIVED_KEY)


def content_type() -> str | None:
    return request.environ.get("CONTENT_TYPE")


def client_certificate() -> bytes | None:
    """The DER of the certificate the client presented over mutual TLS, if any."""
    return request.environ.get(CLIENT_CERTIFICATE_KEY)


def credentials() -> tuple[str, str] | None:
    return basic_credentials(request.environ.get("HTTP_AUTHORIZATION", ""))


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(username, password) from an ``Authorization: Basic`` header; None for anything else."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, separator, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return None
    return (username, password) if separator else None


def with_body(limit: int, answer: Callable[[bytes], HTTPResponse],
              unreadable: Callable[[str], HTTPResponse]) -> HTTPResponse:
    """Read at most ``limit + 1`` bytes of the body and ``answer(body)``; a body that
    cannot be read is ``unreadable(reason)``, and the connection is closed after it."""
    try:
        body = _read_body(limit)
    except BodyTooLarge:  # a chunk beyond what the server reads at all: answered as any oversized body
        return _closing(answer(bytes(limit + 1)))
    except ValueError as error:  # cheroot's complaint about a malformed chunked body
        return _closing(unreadable(str(error)))
    return answer(body)


def _closing(response: HTTPResponse) -> HTTPResponse:
    response.set_header("Connection", "close")  # what follows on the stream is garbage
    return response


def _read_body(limit: int) -> bytes:
    """At most ``limit + 1`` bytes, enough to tell an oversized body from a full one,
    whether it came with Content-Length or chunked."""
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        _discard(stream, DRAIN_BYTES)
    return b"".join(chunks)


def _discard(stream, most: int) -> None:
    """Read and drop what a client is still sending, up to ``most`` bytes.

    The server closes the connection after a 413; closing while the client is
    still writing makes its kernel drop our answer (a TCP reset). Draining a
    bounded amount first lets an ordinary oversized request read its 413.
    """
    while most > 0:
        try:
            chunk = stream.read(min(most, 65536))
        except BodyTooLarge:
            return  # past even what the server reads; the connection closes anyway
        if not chunk:
            return
        most -= len(chunk)
