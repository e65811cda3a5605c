"""Simulated agents: what they send, and a small HTTPS client to send it.

Each agent sends what the enrolment tool sends: a username, its own password,
an EC P-256 CSR for that username, requested roles and a context; a poll
re-sends exactly the same document.
"""

from __future__ import annotations

import http.client
import json
import secrets
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from common.csr import build_csr

REGISTER_PATH = "/api/client-registry/register"


def make_key(kind: str = "EC P-256"):
    if kind == "EC P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "RSA 2048":
        return rsa.generate_private_key(65537, 2048)
    raise ValueError(f"unknown key kind {kind!r}")


def csr_pem(username: str, key) -> str:
    return build_csr(key, username)


def registration_body(username: str, key_kind: str = "EC P-256") -> str:
    """One agent's registration document, as compact JSON on one line."""
    return json.dumps({
        "username": username,
        "password": secrets.token_urlsafe(18),
        "csr": csr_pem(username, make_key(key_kind)),
        "roles": ["plc-reader"],
        "context": {"host": f"{username}.plant.example", "site": "line 3", "version": "2.4.1"},
    }, separators=(",", ":"))


class Poster:
    """POSTs JSON over HTTPS trusting only the registry's CA; one keep-alive
    connection per thread, or a fresh connection per request."""

    def __init__(self, url: str, ca_file: Path, keep_alive: bool = True):
        parts = urlsplit(url)
        self._host, self._port = parts.hostname, parts.port
        self._context = ssl.create_default_context(cafile=str(ca_file))
        self._keep_alive = keep_alive
        self._local = threading.local()

    def post(self, path: str, body: str) -> tuple[int, float]:
        """(status, seconds) of one POST; the answer is read whole."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection(self._host, self._port, context=self._context, timeout=60)
        self._local.connection = connection if self._keep_alive else None
        started = time.perf_counter()
        try:
            connection.request("POST", path, body.encode("utf-8"), {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise
        finally:
            if not self._keep_alive:
                connection.close()
        return response.status, time.perf_counter() - started
