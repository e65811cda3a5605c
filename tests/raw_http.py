"""Bytes on a TLS connection, exactly as written: for requests no HTTP library would send."""

from __future__ import annotations

import socket
import ssl

from tests.helpers import Reply


def tls_connection(port: int, source: str = "127.0.0.1", timeout: float = 10) -> ssl.SSLSocket:
    """A TLS connection to the registry on 127.0.0.1 from ``source`` (any 127.0.0.0/8
    address: Linux routes all of them to the loopback interface)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return ssl._create_unverified_context().wrap_socket(raw)


def exchange(port: int, request: bytes) -> Reply:
    """Send ``request`` and read the one answer, up to the server closing or 10 s."""
    with tls_connection(port) as tls:
        tls.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            try:
                chunk = tls.recv(65536)
            except (TimeoutError, ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return Reply(int(status_line.split()[1]), headers, body)


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(received) + 1
