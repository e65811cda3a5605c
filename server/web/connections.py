"""Connections that slow, silent or numerous clients cannot use to starve everybody else.

cheroot hands every new connection straight to a worker thread, which then
waits for the client: a few hundred silent or trickling connections (half-open
TLS, slowloris) would hold every worker, and a thousand idle ones from one
host would use up the process's file descriptors. Here:

- a new connection waits in cheroot's selector, like an idle keep-alive one,
  until the client sends something; a silent one costs no worker and is
  closed by cheroot's idle expiry;
- an address gets at most ``admission.OPEN_PER_ADDRESS`` connections; running
  out of file descriptors anyway pauses accepting briefly, logged once in a while;
- the TLS handshake runs in a worker, not in the one thread that accepts
  connections, and must finish within HANDSHAKE_SECONDS in all;
- reading a request (headers and body) must finish within
  REQUEST_READ_SECONDS in all, however slowly the bytes trickle in, and in
  bounded memory (``server.web.requests``);
- an address that already has BUSY_PER_ADDRESS connections in workers gets
  SHORT_READ_SECONDS for both on its next ones, and a connection that waits on
  its client while workers run short is cut (``server.web.admission``).
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import ssl
import time

import _pyio
from cheroot import connections, wsgi
from cheroot.makefile import StreamReader, StreamWriter
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter

from server.web.admission import BUSY_PER_ADDRESS, SHORT_READ_SECONDS, Admission, RateLimitedLog, Watch, cut
from server.web.requests import MAX_LINE_BYTES, GuardedRequest

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 5
REQUEST_READ_SECONDS = 10
# Out of file descriptors, accept() fails at once and the listening socket stays
# readable: without a pause the accepting loop would spin and log without end.
ACCEPT_PAUSE_SECONDS = 0.05
# The kernel otherwise grows a connection's send buffer to megabytes for a client
# that does not read: it would take that much before a slow reader held a
# worker, and the worker long enough for the sweep to notice. Answers are small.
SEND_BUFFER_BYTES = 64 * 1024
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

__all__ = ["BUSY_PER_ADDRESS", "DeferredHandshakeAdapter", "GuardedServer"]


class GuardedConnection(HTTPConnection):
    RequestHandlerClass = GuardedRequest
    fresh = True
    admitted = False
    _handshake_done = False

    def __init__(self, server, sock, makefile):
        super().__init__(server, sock, makefile)
        self.rfile = _DeadlineReader(sock, "rb", self.rbufsize)
        self.wfile = _WatchedWriter(sock, "wb", self.wbufsize)

    def communicate(self):
        with self.server.admission.busy(self, self.remote_addr) as (crowded, watch):
            self.rfile.raw.watch = self.wfile.raw.watch = watch
            if isinstance(self.socket, ssl.SSLSocket) and not self._handshake_done:
                try:
                    _handshake(self.socket, SHORT_READ_SECONDS if crowded else HANDSHAKE_SECONDS, watch)
                except (OSError, ValueError):
                    return False  # failed, abandoned or cut: drop the connection
                self._handshake_done = True
            self.rfile.raw.deadline = time.monotonic() + (SHORT_READ_SECONDS if crowded else REQUEST_READ_SECONDS)
            try:
                return super().communicate()
            finally:
                self.rfile.raw.deadline = None

    def close(self):
        if self.admitted:
            self.admitted = False
            self.server.admission.release(self.remote_addr)
        super().close()


class GuardedServer(wsgi.Server):
    """cheroot's WSGI server with the guards above."""

    ConnectionClass = GuardedConnection

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.admission = Admission(self.requests.min)

    def prepare(self):
        super().prepare()
        self._connections.close()  # cheroot's own manager, before it ever ran
        self._connections = _GuardedConnectionManager(self)

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


class _GuardedConnectionManager(connections.ConnectionManager):
    def __init__(self, server):
        super().__init__(server)
        self._out_of_descriptors = RateLimitedLog("accepting paused %d times: %s")

    def _from_server_socket(self, server_socket):
        try:
            conn = super()._from_server_socket(server_socket)
        except OSError as error:
            if error.errno not in _OUT_OF_DESCRIPTORS:
                raise
            self._out_of_descriptors.note(error.strerror)
            time.sleep(ACCEPT_PAUSE_SECONDS)
            return None
        if conn is None:
            return None
        if not self.server.admission.admit(conn.remote_addr):
            conn.socket.close()  # cheaply: no handshake, no worker, no traceback
            return None
        conn.admitted = True
        conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        return conn

    def _expire(self, threshold):
        super()._expire(threshold)
        # Called by the selector loop every expiration_interval: the sweep's clock.
        for connection in self.server.admission.overdue():
            cut(connection)


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


def _handshake(tls_socket: ssl.SSLSocket, seconds: float, watch: Watch) -> None:
    """Handshake within ``seconds`` in all, however slowly the peer trickles bytes."""
    timeout = tls_socket.gettimeout()
    deadline = time.monotonic() + seconds
    tls_socket.setblocking(False)
    watch.waiting_on_client = True
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
        watch.waiting_on_client = False
        tls_socket.settimeout(timeout)


class _DeadlineSocketIO(socket.SocketIO):
    """Socket IO that reports when it waits on the client, and whose reads give up
    at ``deadline`` (a monotonic time), when one is set."""

    deadline: float | None = None
    watch: Watch | None = None

    def readinto(self, buffer):
        if self.deadline is None:
            return self._waiting(super().readinto, buffer)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")  # cheroot answers 408 for this message
        idle_timeout = self._sock.gettimeout()
        self._sock.settimeout(min(remaining, idle_timeout) if idle_timeout else remaining)
        try:
            return self._waiting(super().readinto, buffer)
        finally:
            self._sock.settimeout(idle_timeout)  # writes keep the server's own timeout

    def write(self, data):
        return self._waiting(super().write, data)

    def _waiting(self, operation, argument):
        watch = self.watch
        if watch is None:
            return operation(argument)
        watch.waiting_on_client = True
        try:
            return operation(argument)
        finally:
            watch.waiting_on_client = False


class _DeadlineReader(StreamReader):
    def __init__(self, sock, mode="rb", bufsize=_pyio.DEFAULT_BUFFER_SIZE):
        _pyio.BufferedReader.__init__(self, _DeadlineSocketIO(sock, mode), bufsize)
        self.bytes_read = 0

    def readline(self, size=-1):
        # cheroot reads a chunk size or a trailer with readline() and no limit:
        # a line that never ends would grow without bound.
        return super().readline(MAX_LINE_BYTES if size is None or size < 0 else size)


class _WatchedWriter(StreamWriter):
    def __init__(self, sock, mode="wb", bufsize=_pyio.DEFAULT_BUFFER_SIZE):
        _pyio.BufferedWriter.__init__(self, _DeadlineSocketIO(sock, mode), bufsize)
        self.bytes_written = 0
