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
- each turn of the connection loop accepts every connection waiting, while few
  are still opening, and idle keep-alive connections are kept (bounded as above),
  not closed once cheroot's ten wait;
- the TLS handshake runs in a worker, not in the one thread that accepts
  connections, and must finish within HANDSHAKE_SECONDS in all, a load
  balancer's PROXY header before it included (``server.web.trusted_proxies``);
- a connection from a trusted balancer counts, for the per-address limits, as
  the agent's whose address its PROXY header names, not as the balancer's:
  otherwise a whole fleet behind it would share one address's allowance. It is
  admitted once the header is read (the balancer's own ``maxconn`` bounds how
  many it opens), and its header is read before it counts as busy;
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
import threading
import time
from collections.abc import Iterable

import _pyio
from cheroot import connections, errors, wsgi
from cheroot.makefile import StreamReader, StreamWriter
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter

from server.web.admission import BUSY_PER_ADDRESS, SHORT_READ_SECONDS, Admission, RateLimitedLog, Watch, cut
from server.web.requests import MAX_LINE_BYTES, GuardedRequest
from server.web.trusted_proxies import TrustedProxies

log = logging.getLogger(__name__)

# cheroot accepts one connection per turn of its connection loop, and under load each turn
# waits for the GIL behind busy workers: about 175 accepts a second, while the listening
# socket's backlog held 50 connections and a new device waited 0.3–0.8 s before its
# handshake began. Each turn now accepts every connection waiting, up to this many, while
# fewer than OPENING_AT_ONCE accepted connections are still opening (their handshake not
# done); beyond, one a turn, as cheroot does. Without that bound, a burst of 200 devices
# was accepted in a turn or two, their 200 handshakes held every worker at once, and the
# polls of the agents already connected waited 0.1–0.3 s behind them (bench 10).
ACCEPTS_PER_TURN = 64
OPENING_AT_ONCE = 16
# A device sends its handshake as soon as it connects: one still not open this long after
# its accept no longer counts as opening, so that a few silent connections cannot hold
# accepting to one a turn until the idle timeout closes them.
OPENING_SECONDS = 1
# cheroot answers "Connection: close" once this many connections wait in its selector
# (its default: 10), new ones awaiting their first bytes included. Then a client that keeps
# its connection (a load balancer, a persistent integration) reconnects, handshake and all,
# every few requests. Idle connections are bounded otherwise: per address
# (admission.OPEN_PER_ADDRESS), by the idle timeout, and by the process's descriptors.
KEEP_ALIVE_CONNECTIONS = 1024
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
_REFUSED = object()  # a connection accepted and closed at once: beyond its address's share

__all__ = ["BUSY_PER_ADDRESS", "DeferredHandshakeAdapter", "GuardedServer"]


class GuardedConnection(HTTPConnection):
    RequestHandlerClass = GuardedRequest
    fresh = True
    admitted = False
    _opened = False  # the PROXY header and the TLS handshake, done once, by the first worker

    def __init__(self, server, sock, makefile):
        super().__init__(server, sock, makefile)
        # When its request arrived (time.monotonic()): the first one when the connection was
        # accepted, so that the time its handshake waited counts too; a later one when a
        # worker took it up. The core promises an answer within a bound of this moment.
        self.request_arrived = time.monotonic()
        self.rfile = _DeadlineReader(sock, "rb", self.rbufsize)
        self.wfile = _WatchedWriter(sock, "wb", self.wbufsize)

    def communicate(self):
        handshake_deadline = None
        if self._opened:
            self.request_arrived = time.monotonic()
        else:
            self._opened = True
            handshake_deadline = time.monotonic() + HANDSHAKE_SECONDS
            if not self._admit_source(handshake_deadline):
                return False
        with self.server.admission.busy(self, self.remote_addr) as (crowded, watch):
            self.rfile.raw.watch = self.wfile.raw.watch = watch
            if handshake_deadline is not None and isinstance(self.socket, ssl.SSLSocket):
                if crowded:
                    handshake_deadline = min(handshake_deadline, time.monotonic() + SHORT_READ_SECONDS)
                try:
                    _handshake(self.socket, handshake_deadline, watch)
                except (OSError, ValueError):
                    return False  # failed, abandoned or cut: drop the connection (close() says it is done)
            self.server.opening.done(self)
            self.rfile.raw.deadline = time.monotonic() + (SHORT_READ_SECONDS if crowded else REQUEST_READ_SECONDS)
            try:
                return super().communicate()
            finally:
                self.rfile.raw.deadline = None

    def _admit_source(self, deadline: float) -> bool:
        """Learn whom the connection speaks for (``server.web.trusted_proxies``) and,
        for a balancer's connection, count it against that address; False: drop it."""
        source = self.server.proxies.source(self.socket, (self.remote_addr, self.remote_port), deadline)
        if source is None:
            return False
        self.remote_addr, self.remote_port = source  # what REMOTE_ADDR, the limits and the logs see
        if not self.admitted:
            if not self.server.admission.admit(self.remote_addr):
                return False
            self.admitted = True
        return True

    def close(self):
        self.server.opening.done(self)  # one that never sent its handshake, say
        if self.admitted:
            self.admitted = False
            self.server.admission.release(self.remote_addr)
        super().close()


class GuardedServer(wsgi.Server):
    """cheroot's WSGI server with the guards above."""

    ConnectionClass = GuardedConnection

    def __init__(self, *args, trusted_proxies: Iterable[str] = (), **kwargs):
        """``trusted_proxies``: the load balancers whose PROXY headers are believed."""
        super().__init__(*args, **kwargs)
        self.admission = Admission(self.requests.min)
        self.proxies = TrustedProxies(trusted_proxies)
        self.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
        self.opening = _Opening()

    def prepare(self):
        super().prepare()
        # The connection loop accepts until nothing is waiting (see ACCEPTS_PER_TURN): an
        # accept on an empty backlog must say so at once, not block for cheroot's second.
        self.socket.setblocking(False)
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


class _Opening:
    """The connections accepted and not open yet (their handshake not done), for at most
    OPENING_SECONDS each."""

    def __init__(self):
        self._lock = threading.Lock()
        self._since: dict[GuardedConnection, float] = {}  # in the order they were accepted

    @property
    def count(self) -> int:
        return len(self._since)

    def started(self, connection: GuardedConnection) -> None:
        with self._lock:
            self._since[connection] = time.monotonic()

    def done(self, connection: GuardedConnection) -> None:
        """The connection is open, or closed without opening; later calls are ignored."""
        with self._lock:
            self._since.pop(connection, None)

    def forget_the_silent(self, now: float) -> None:
        """Stop counting those accepted OPENING_SECONDS or more before ``now`` (time.monotonic())."""
        with self._lock:
            while self._since:
                connection, since = next(iter(self._since.items()))  # the oldest
                if now - since < OPENING_SECONDS:
                    return
                del self._since[connection]


class _GuardedConnectionManager(connections.ConnectionManager):
    def __init__(self, server):
        super().__init__(server)
        self._out_of_descriptors = RateLimitedLog("accepting paused %d times: %s")

    def _from_server_socket(self, server_socket):
        """The first connection admitted of those waiting (up to ACCEPTS_PER_TURN); the
        others are handed on here, as cheroot's loop hands on the one returned."""
        first = None
        for accepted in range(ACCEPTS_PER_TURN):
            if accepted and self.server.opening.count >= OPENING_AT_ONCE:
                break
            conn = self._accept(server_socket)
            if conn is None:
                break
            if conn is _REFUSED:
                continue
            if first is None:
                first = conn
            else:
                self.server.process_conn(conn)
        return first

    def _accept(self, server_socket):
        """A new connection, admitted; _REFUSED; or None: none waiting (or it could not
        be accepted, which cheroot has logged)."""
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
        # A balancer's connection is admitted later, as the agent its PROXY header names.
        if not self.server.proxies.sends_headers(conn.remote_addr):
            if not self.server.admission.admit(conn.remote_addr):
                conn.socket.close()  # cheaply: no handshake, no worker, no traceback
                return _REFUSED
            conn.admitted = True
        conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.server.opening.started(conn)
        return conn

    def _expire(self, threshold):
        super()._expire(threshold)
        # Called by the selector loop every expiration_interval: the sweep's clock.
        for connection in self.server.admission.overdue():
            cut(connection)
        self.server.opening.forget_the_silent(time.monotonic())


class DeferredHandshakeAdapter(BuiltinSSLAdapter):
    """Wraps accepted sockets without handshaking; GuardedConnection does that in a worker."""

    def __init__(self, context: ssl.SSLContext):
        # BuiltinSSLAdapter insists on files it would load itself; ours come ready.
        self.certificate = self.private_key = self.certificate_chain = None
        self.ciphers = None
        self.private_key_password = None
        self.context = context

    def wrap(self, sock):
        try:
            tls_socket = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except OSError as error:
            # The client sent bytes and reset the connection before accept() returned: Python
            # refuses to wrap that socket (its fix for CVE-2023-40217), and cheroot would log
            # any error but this one as a failure of the whole server, with a traceback.
            # HAProxy does it whenever its client leaves early, its PROXY header already sent.
            raise errors.FatalSSLAlert(str(error)) from None
        return tls_socket, {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def get_environ(self, sock):
        return {}


def _handshake(tls_socket: ssl.SSLSocket, deadline: float, watch: Watch) -> None:
    """Handshake by ``deadline`` (a monotonic time), however slowly the peer trickles bytes."""
    timeout = tls_socket.gettimeout()
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
