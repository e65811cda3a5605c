"""The bottle app served by cheroot in a worker thread, startable and stoppable.

Built by hand, as cheroot's own ``cheroot/testing.py`` does, because bottle's
CherootServer adapter gives no handle to stop it. The connections are guarded
against slow and silent clients (``server.web.connections``), and the client
certificate's DER reaches the app per request, so that a mutual-TLS client can
be looked up by its certificate.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
import ssl
import threading
from collections.abc import Iterable

from cheroot import wsgi

from server.validation import MAX_BODY_BYTES
from server.tls import agent_urls
from server.web.connections import DeferredHandshakeAdapter, GuardedServer
from server.web.requests import MAX_HEADER_BYTES
from server.web.wire import ARRIVED_KEY, CLIENT_CERTIFICATE_KEY, DRAIN_BYTES

log = logging.getLogger(__name__)

WORKER_THREADS = 48
IDLE_TIMEOUT_SECONDS = 10
SHUTDOWN_SECONDS = 2
# cheroot's default backlog of 5 drops connections when a fleet polls at once.
LISTEN_BACKLOG = 256


class ListenError(OSError):
    """The server cannot listen where it was told to; the message says why in one line."""

    def __str__(self) -> str:
        return self.strerror  # without OSError's "[Errno 98]" prefix


class RegistryServer:
    """``start()`` binds and serves in a thread; ``stop()`` stops and joins it."""

    def __init__(self, app, host: str = "0.0.0.0", port: int = 8443, ssl_context: ssl.SSLContext | None = None,
                 names: tuple[list[str], list[str]] = ([], []), trusted_proxies: Iterable[str] = ()):
        """``names`` are the DNS names and addresses agents may use to reach this host;
        connections from ``trusted_proxies`` (IP addresses) must begin with a PROXY
        header, which names the agent they carry (``server.web.trusted_proxies``)."""
        self._server = GuardedServer(
            (host, port), app,
            trusted_proxies=trusted_proxies,
            numthreads=WORKER_THREADS,
            timeout=IDLE_TIMEOUT_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
            request_queue_size=LISTEN_BACKLOG,
            server_name="client-registry",
        )
        self._server.gateway = _Gateway
        # cheroot's limits are 0, unlimited, by default: one connection could make
        # the process hold all it sends. The body limit leaves room for json_api to
        # read an oversized body far enough to answer it 413 (see its _discard).
        self._server.max_request_header_size = MAX_HEADER_BYTES
        self._server.max_request_body_size = MAX_BODY_BYTES + DRAIN_BYTES + MAX_HEADER_BYTES
        # How often the connection loop wakes to expire idle connections, and
        # so how long stop() may wait for it (cheroot's default is 0.5 s).
        self._server.expiration_interval = 0.1
        if ssl_context is not None:
            self._server.ssl_adapter = DeferredHandshakeAdapter(ssl_context)
        self._host = host
        self._names = names
        self._thread: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        return "http" if self._server.ssl_adapter is None else "https"

    @property
    def port(self) -> int:
        return self._server.bind_addr[1]

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def agent_urls(self) -> list[str]:
        """What an agent can type to reach this server (see ``server.tls.agent_urls``)."""
        return agent_urls(self.scheme, self._host, self.port, *self._names)

    def start(self) -> None:
        _raise_descriptor_limit()
        try:
            self._server.prepare()  # binds now, so a taken port fails here, not in the thread
        except OSError as error:
            raise _listen_error(self._host, self.port) or error from None
        self._thread = threading.Thread(target=self._server.serve, name="registry-http", daemon=True)
        self._thread.start()
        log.info("listening on %s", self.url)
        if self.agent_urls != [self.url]:
            log.info("agents can reach it at %s", ", ".join(self.agent_urls))

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.stop()
        self._thread.join()
        self._thread = None
        log.info("stopped listening on %s", self.url)


def _listen_error(host: str, port: int) -> ListenError | None:
    """Why binding failed, in words, or None when it cannot be told.

    cheroot's ``prepare`` folds the bind error into a message string and drops
    its errno, so the bind is tried once more here to learn it."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as cheroot binds
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return ListenError(error.errno, f"port {port} is already in use on {host}; pick another with --port")
        if error.errno == errno.EADDRNOTAVAIL:
            return ListenError(error.errno, f"{host} is not an address of this computer; pick another with --host")
        if error.errno == errno.EACCES:
            return ListenError(error.errno, f"port {port} needs special privileges; pick one above 1023 with --port")
    return None


class _Gateway(wsgi.Gateway_10):
    def get_environ(self):
        env = super().get_environ()
        env[ARRIVED_KEY] = self.req.conn.request_arrived
        tls_socket = self.req.conn.socket
        if isinstance(tls_socket, ssl.SSLSocket):
            certificate = tls_socket.getpeercert(binary_form=True)
            if certificate:
                env[CLIENT_CERTIFICATE_KEY] = certificate
        return env


def _raise_descriptor_limit() -> None:
    """The soft limit on open files up to the hard one: every connection is a
    descriptor, and the soft default (1,024 on Linux) is what a few hosts exhaust."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:
        log.info("cannot raise the open-file limit: %s", error)
