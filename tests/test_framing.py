"""One framing per request, or a 400: no request smuggling, and cheroot's own
errors in the API's JSON (SPEC: HTTP API; issue 13)."""

from __future__ import annotations

import pytest

from server.web.requests import MAX_HEADER_LINES
from tests.raw_http import exchange

REGISTER = b"POST /api/client-registry/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
BODY = b'{"username": "smuggler", "password": "pw-123456"}'  # 49 bytes


@pytest.mark.parametrize("framing", [
    b"Content-Length: 49\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 49\r\n",
    b"Content-Length: 49\r\nContent-Length: 49\r\n",
    b"Content-Length: 49\r\nContent-Length: 50\r\n",
    b"Content-Length: 49, 49\r\n",
    b"Content-Length: +49\r\n",
    b"Content-Length: 4_9\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length : 49\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked, chunked\r\n",
    b"Transfer-Encoding: xchunked\r\n",
    b"X-Folded: a\r\n b\r\nContent-Length: 49\r\n",
], ids=lambda framing: framing.decode().replace("\r\n", "|"))
def test_ambiguous_framing_is_400_and_closes(server, framing):
    reply = exchange(server.port, REGISTER + framing + b"\r\n" + BODY)
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["status"] == "error"
    assert reply.headers.get("connection") == "close"


def test_chunked_from_an_http_1_0_client_is_400(server):
    request = REGISTER.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Transfer-Encoding: chunked\r\nContent-Length: 49\r\n\r\n"
    assert exchange(server.port, request + BODY).status == 400
    request = REGISTER.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Transfer-Encoding: chunked\r\n\r\n"
    assert exchange(server.port, request + b"31\r\n" + BODY + b"\r\n0\r\n\r\n").status == 400


def test_sound_framing_still_works(service, server):
    service.open("test")
    assert exchange(server.port, REGISTER + b"Content-Length: 49\r\n\r\n" + BODY).status == 202
    chunked = REGISTER + b"Transfer-Encoding: chunked\r\n\r\n"
    body = BODY.replace(b"smuggler", b"chunker1")
    assert exchange(server.port, chunked + b"31\r\n" + body + b"\r\n0\r\n\r\n").status == 202


@pytest.mark.parametrize("target", [b"//api/client-registry/register", b"https://localhost/api/client-registry/ca",
                                    b"//localhost/api/client-registry/ca", b"*"])
def test_odd_request_targets_answer_json(server, target):
    reply = exchange(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert reply.status in (400, 404)
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["status"] == "error"


def test_too_many_header_lines_is_refused_in_json(server):
    headers = b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADER_LINES + 1))
    reply = exchange(server.port, b"GET /api/client-registry/ca HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n")
    assert reply.status == 400
    assert reply.json["status"] == "error"


def test_headers_larger_than_the_limit_are_refused_in_json(server):
    reply = exchange(server.port, b"GET /api/client-registry/ca HTTP/1.1\r\nHost: localhost\r\nX-Big: "
                     + b"a" * 20_000 + b"\r\n\r\n")
    assert reply.status in (400, 413, 431)
    assert reply.json["status"] == "error"
