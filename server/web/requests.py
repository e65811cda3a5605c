"""Reading one HTTP request in bounded memory, with one unambiguous framing.

cheroot reads whatever a client sends: its size limits are off by default, a
header line is read whole however long it is, a negative ``Content-Length``
makes the body "everything until the client hangs up", and it takes
``Transfer-Encoding`` beside ``Content-Length``, duplicate or signed lengths
(``+49``, ``4_9``: Python's ``int`` accepts both) and ``chunked`` from an
HTTP/1.0 client. Behind any proxy that reads the framing differently, that is
request smuggling (https://www.rfc-editor.org/rfc/rfc9112#section-6.3). Here:

- the request line and headers together are at most ``MAX_HEADER_BYTES``, in
  at most ``MAX_HEADER_LINES`` lines, without obsolete line folding;
- a body is framed by exactly one ``Content-Length`` of digits, or by
  ``Transfer-Encoding: chunked`` alone from an HTTP/1.1 client; anything else
  is a 400 and the connection is closed before a byte of the body is read;
- a chunked body larger than the server's body limit stops at the chunk that
  crosses it (``BodyTooLarge``), without reading that chunk;
- cheroot's own error answers (400, 408, 413, 414, …) are JSON, like every
  other answer of the API.
"""

from __future__ import annotations

import json
import re

from cheroot import errors
from cheroot.server import ChunkedRFile, HeaderReader, HTTPRequest

from server.web import json_answers

MAX_HEADER_BYTES = 16 * 1024  # an Authorization header with the longest password fits 10 times over
MAX_HEADER_LINES = 64
# One line read outside the header limit (a chunk size, a trailer): no legitimate one is longer.
MAX_LINE_BYTES = 4096

_DIGITS = re.compile(rb"[0-9]{1,15}")


class BodyTooLarge(ValueError):
    """A chunked body went past the server's body limit."""


class GuardedRequest(HTTPRequest):
    """cheroot's request with the bounds and the strict framing above."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per request: the reader remembers which headers it has seen.
        self.header_reader = _StrictHeaderReader(self)

    def respond(self):
        if not self.chunked_read:
            super().respond()  # Content-Length: cheroot's own reader, after its size check
            return
        # cheroot's respond() for a chunked body, with a reader that names the too-large case.
        self.rfile = _BoundedChunkedRFile(self.conn.rfile, self.server.max_request_body_size)
        self.server.gateway(self).respond()
        self.ready and self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def simple_response(self, status, msg=""):
        """cheroot's plain-text error answers, as the API's JSON errors."""
        code = int(str(status)[:3])
        if code >= 400:
            self.close_connection = True  # after a framing error the rest of the stream means nothing
        body = json.dumps(json_answers.error(code, str(msg) or str(status)[4:]).body)
        status_line = f"{self.server.protocol} {status}\r\n"
        head = f"{status_line}Content-Length: {len(body)}\r\nContent-Type: application/json\r\n"
        if code >= 400 and self.response_protocol == "HTTP/1.1":
            head += "Connection: close\r\n"
        try:
            self.conn.wfile.write(f"{head}\r\n{body}".encode("utf-8"))
        except OSError as error:
            if error.args[0] not in errors.socket_errors_to_ignore:
                raise


class _StrictHeaderReader(HeaderReader):
    def __init__(self, request: GuardedRequest):
        self._request = request
        self._names: set[bytes] = set()

    def __call__(self, rfile, hdict=None):
        headers = super().__call__(_HeaderLines(rfile), hdict)
        problem = framing_problem(headers, self._request.request_protocol, self._names)
        if problem:
            raise ValueError(problem)  # cheroot answers 400 with this message
        return headers

    def _transform_key(self, key_name):
        if key_name != key_name.strip() or not key_name:
            raise ValueError("a header name has white space before its colon, or is empty")
        name = super()._transform_key(key_name)
        if name in (b"Content-Length", b"Transfer-Encoding") and name in self._names:
            raise ValueError(f"the {name.decode()} header is sent twice")
        self._names.add(name)
        return name


class _HeaderLines:
    """The header block, a line at a time: counted, and without obsolete line folding."""

    def __init__(self, rfile):
        self._rfile = rfile
        self._lines = 0

    def readline(self):
        line = self._rfile.readline()
        self._lines += 1
        if self._lines > MAX_HEADER_LINES:
            raise ValueError(f"more than {MAX_HEADER_LINES} header lines")
        if line[:1] in (b" ", b"\t"):
            raise ValueError("obsolete line folding in the headers")
        return line


def framing_problem(headers: dict, protocol: bytes, names: set[bytes]) -> str | None:
    """Why the body's framing is ambiguous or malformed, or None when it is sound."""
    length = headers.get(b"Content-Length")
    coding = headers.get(b"Transfer-Encoding")
    if length is not None and not _DIGITS.fullmatch(length):
        return "Content-Length must be one number of decimal digits"
    if coding is None:
        return None
    if length is not None:
        return "Transfer-Encoding and Content-Length together"
    if protocol != b"HTTP/1.1":
        return "Transfer-Encoding needs HTTP/1.1"
    if coding.lower() != b"chunked":
        return "the only transfer coding accepted is chunked, alone"
    return None


class _BoundedChunkedRFile(ChunkedRFile):
    def _fetch(self):
        try:
            super()._fetch()
        except errors.MaxSizeExceeded:
            raise BodyTooLarge("the body is larger than the server accepts") from None
        except OSError as error:
            # cheroot raises a bare IOError for a chunk that would cross the limit,
            # before reading it; socket failures are OSError's subclasses.
            if type(error) is not OSError:
                raise
            raise BodyTooLarge("the body is larger than the server accepts") from None
