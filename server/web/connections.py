"""Connections that slow or silent clients cannot use to starve everybody else.

cheroot hands every new connection straight to a worker thread, which then
waits for the client: a few hundred silent or trickling connections (half-open
TLS, slowloris) would hold every worker. Here:

- a new connection waits in cheroot's selector, like an idle keep-alive one,
  until the client sends something; a silent one costs no worker and is
  closed by cheroot's idle expiry;
- the TLS handshake runs in a worker, not in the one thread that accepts
  connections, and must finish within HANDSHAKE_SECONDS in all;
- reading a request (headers and body) must finish within
  REQUEST_READ_SECONDS in all, however slowly the bytes trickle in;
- an address that already has BUSY_PER_ADDRESS connections handshaking or
  being read gets SHORT_READ_SECONDS for both on its next ones: an honest
  client needs milliseconds, a slowloris loses its hold on the workers.
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from contextlib import contextmanager

import _pyio
from cheroot import wsgi
from cheroot.makefile import StreamReader
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 5
REQUEST_READ_SECONDS = 10
SHORT_READ_SECONDS = 1
BUSY_PER_ADDRESS = 8


class GuardedConnection(HTTPConnection):
    fresh = True
    _handshake_done = False

    def __init__(self, server, sock, makefile):
        super().__init__(server, sock, makefile)
        self.rfile = _DeadlineReader(sock, "rb", self.rbufsize)

    def communicate(self):
        with self.server.reading(self.remote_addr) as crowded:
            if isinstance(self.socket, ssl.SSLSocket) and not self._handshake_done:
                try:
                    _handshake(self.socket, SHORT_READ_SECONDS if crowded else HANDSHAKE_SECONDS)
                except (OSError, ValueError):
                    return False  # failed or abandoned: drop the connection
                self._handshake_done = True
            self.rfile.raw.deadline = time.monotonic() + (SHORT_READ_SECONDS if crowded else REQUEST_READ_SECONDS)
            try:
                return super().communicate()
            finally:
                self.rfile.raw.deadline = None


class GuardedServer(wsgi.Server):
    """cheroot's WSGI server with the guards above."""

    ConnectionClass = GuardedConnection

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reading = Counter()  # address -> connections handshaking or being read now
        self._reading_lock = threading.Lock()

    @contextmanager
    def reading(self, address: str):
        """Count a connection from ``address`` as being read; yield whether that
        address was already crowded, so this one gets the short deadlines."""
        with self._reading_lock:
            crowded = self._reading[address] >= BUSY_PER_ADDRESS
            self._reading[address] += 1
        try:
            yield crowded
        finally:
            with self._reading_lock:
                self._reading[address] -= 1
                if not self._reading[address]:
                    del self._reading[address]

    def error_log(self, msg="", level=logging.INFO, traceback=False):
        """cheroot's own reports, through logging instead of bare standard error.

        It reports every client that hangs up mid-answer as a warning with a
        traceback; a fleet of devices does that all day. Those go to DEBUG;
        real errors stay errors, with their traceback.
        """
        log.log(logging.ERROR if level >= logging.ERROR else logging.DEBUG, "%s", msg,
                exc_info=traceback and level >= logging.ERROR)

    def process_conn(self, conn):
        if getattr(conn, "fresh", False):
            conn.fresh = False
            self._connections.put(conn)  # no worker until the client sends something
        else:
            super().process_conn(conn)




class DeferredHandshakeAdapter(BuiltinSSLAdapter):
    """Wraps accepted sockets without handshaking; GuardedConnection does that in a worker."""

    def __init__(self, context: ssl.SSLContext):
        # BuiltinSSLAdapter insists on files it would load itself; ours come ready.
        self.certificate = self.private_key = self.certificate_chain = None
        self.ciphers = None
        self.private_key_password = None
        self.context = context

    def wrap(self, sock):
        tls_socket = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls_socket, {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def get_environ(self, sock):
        return {}


def _handshake(tls_socket: ssl.SSLSocket, seconds: float) -> None:
    """Handshake within ``seconds`` in all, however slowly the peer trickles bytes."""
    timeout = tls_socket.gettimeout()
    deadline = time.monotonic() + seconds
    tls_socket.setblocking(False)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(tls_socket, selectors.EVENT_READ)
            while True:
                try:
                    tls_socket.do_handshake()
                    return
                except ssl.SSLWantReadError:
                    selector.modify(tls_socket, selectors.EVENT_READ)
                except ssl.SSLWantWriteError:
                    selector.modify(tls_socket, selectors.EVENT_WRITE)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError("TLS handshake took too long")
    finally:
        tls_socket.settimeout(timeout)


class _DeadlineSocketIO(socket.SocketIO):
    """Socket reads that give up at ``deadline`` (a monotonic time), when one is set."""

    deadline: float | None = None

    def readinto(self, buffer):
        if self.deadline is None:
            return super().readinto(buffer)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")  # cheroot answers 408 for this message
        idle_timeout = self._sock.gettimeout()
        self._sock.settimeout(min(remaining, idle_timeout) if idle_timeout else remaining)
        try:
            return super().readinto(buffer)
        finally:
            self._sock.settimeout(idle_timeout)  # writes keep the server's own timeout


class _DeadlineReader(StreamReader):
    def __init__(self, sock, mode="rb", bufsize=_pyio.DEFAULT_BUFFER_SIZE):
        _pyio.BufferedReader.__init__(self, _DeadlineSocketIO(sock, mode), bufsize)
        self.bytes_read = 0
