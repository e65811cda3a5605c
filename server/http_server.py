"""The bottle app served by cheroot in a worker thread, startable and stoppable.

Built by hand, as cheroot's own ``cheroot/testing.py`` does, because bottle's
CherootServer adapter gives no handle to stop it. Two things differ from
cheroot's stock HTTPS set-up:

- the TLS handshake runs in a worker thread under a deadline, not in the one
  thread that accepts connections, so a client that opens a connection and
  then stalls cannot stop everybody else from connecting;
- the client certificate's DER reaches the app per request, so that a mutual
  TLS client can be looked up by its certificate.
"""

from __future__ import annotations

import logging
import selectors
import ssl
import threading
import time

from cheroot import wsgi
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter

from server.http_app import CLIENT_CERTIFICATE_KEY

log = logging.getLogger(__name__)

WORKER_THREADS = 32
CONNECTION_TIMEOUT_SECONDS = 10
HANDSHAKE_SECONDS = 10
SHUTDOWN_SECONDS = 2


class RegistryServer:
    """``start()`` binds and serves in a thread; ``stop()`` stops and joins it."""

    def __init__(self, app, host: str = "0.0.0.0", port: int = 8443, ssl_context: ssl.SSLContext | None = None,
                 companions: tuple = ()):
        """``companions`` have start() and stop() and live exactly as long as the server serves."""
        self._server = wsgi.Server(
            (host, port), app,
            numthreads=WORKER_THREADS,
            timeout=CONNECTION_TIMEOUT_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
            server_name="client-registry",
        )
        self._server.gateway = _Gateway
        # How often the connection loop wakes to expire idle connections, and
        # so how long stop() may wait for it (cheroot's default is 0.5 s).
        self._server.expiration_interval = 0.1
        if ssl_context is not None:
            self._server.ssl_adapter = _DeferredHandshakeAdapter(ssl_context)
            self._server.ConnectionClass = _HandshakingConnection
        self._host = host
        self._companions = companions
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

    def start(self) -> None:
        self._server.prepare()  # binds now, so a taken port fails here, not in the thread
        self._thread = threading.Thread(target=self._server.serve, name="registry-http", daemon=True)
        self._thread.start()
        for companion in self._companions:
            companion.start()
        log.info("listening on %s", self.url)

    def stop(self) -> None:
        if self._thread is None:
            return
        for companion in self._companions:
            companion.stop()
        self._server.stop()
        self._thread.join()
        self._thread = None
        log.info("stopped listening on %s", self.url)


class _DeferredHandshakeAdapter(BuiltinSSLAdapter):
    """Wraps accepted sockets without handshaking; ``_HandshakingConnection`` does that."""

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


class _HandshakingConnection(HTTPConnection):
    _handshake_done = False

    def communicate(self):
        if not self._handshake_done:
            try:
                _handshake(self.socket, HANDSHAKE_SECONDS)
            except (OSError, ValueError):
                return False  # a failed or abandoned handshake: just drop the connection
            self._handshake_done = True
        return super().communicate()


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


class _Gateway(wsgi.Gateway_10):
    def get_environ(self):
        env = super().get_environ()
        tls_socket = self.req.conn.socket
        if isinstance(tls_socket, ssl.SSLSocket):
            certificate = tls_socket.getpeercert(binary_form=True)
            if certificate:
                env[CLIENT_CERTIFICATE_KEY] = certificate
        return env
