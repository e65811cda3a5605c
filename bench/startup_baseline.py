"""The start-up baseline: the least a process can do to reach the same log line.

``python -m bench.startup_baseline CERT KEY CA [--window]`` serves a trivial
WSGI app on cheroot over TLS with the registry's own certificate, key and TLS
context (server.tls, which imports only the standard library), and with
``--window`` first shows an empty QMainWindow; then it logs ``listening on …``
as the product does. No registry, no database, no CA, no bottle.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from server.tls import server_context


def trivial_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


def main(argv: list[str]) -> int:
    cert_path, key_path, ca_path = (Path(arg) for arg in argv[:3])
    with_window = "--window" in argv[3:]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if with_window:
        from PySide6.QtWidgets import QApplication, QMainWindow

        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        window.show()
    server = wsgi.Server(("127.0.0.1", 0), trivial_app)
    server.ssl_adapter = BuiltinSSLAdapter(str(cert_path), str(key_path), str(ca_path))
    server.ssl_adapter.context = server_context(cert_path, key_path, ca_path)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    logging.info("listening on https://127.0.0.1:%d", server.bind_addr[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if with_window:
        from PySide6.QtCore import QTimer

        signal.signal(signal.SIGTERM, lambda *_: app.quit())
        wake = QTimer()  # lets Python run the signal handler while Qt waits
        wake.timeout.connect(lambda: None)
        wake.start(100)
        app.exec()
    else:
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
