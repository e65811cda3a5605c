"""A local HTTP receiver for the registry's notifications (--notify-url)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POSTed body; it can fail its first
    answers (500) and hold each request until ``release`` is set."""

    def __init__(self, failures: int = 0):
        self.bodies: list[bytes] = []
        self.attempts = 0
        self.failures = failures
        self.release = threading.Event()
        self.release.set()
        self.holding = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                receiver.holding.set()
                receiver.release.wait(30)
                failing = receiver.attempts <= receiver.failures
                if not failing:
                    receiver.bodies.append(body)
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/registry"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def events(self) -> list[dict]:
        return [json.loads(body) for body in list(self.bodies)]

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
