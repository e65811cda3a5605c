"""Wiring a registry together: data folder -> storage -> core -> HTTP server -> chores.

``main.py`` calls these for the window and ``--headless``; the tests and the
benchmarks call them too, so that what they run is what a user runs.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common.files import check_private_folder
from server.ca import CA_CERT_FILE, CertificateAuthority
from server.chores import ChoreRunner, registry_chores
from server.limits import Limits
from server.service import Clock, RegistrationService
from server.tls import local_names, server_context
from server.web.http_server import RegistryServer
from server.web.json_api import create_app
from storage import DATABASE_FILE, init_db

log = logging.getLogger(__name__)

DATA_DIR_VARIABLE = "CLIENT_REGISTRY_DATA_DIR"


def default_data_dir() -> Path:
    """``$CLIENT_REGISTRY_DATA_DIR``, else the platform's per-user data folder."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "Client Registry"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Client Registry"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "client-registry"


def has_registry(data_dir: Path) -> bool:
    return (Path(data_dir) / DATABASE_FILE).exists()


def open_registry(data_dir: Path, clock: Clock = time.time, limits: Limits = Limits()) -> RegistrationService:
    """The service over ``data_dir``, creating the folder, database and CA on first use.

    Raises ``UnsafePath`` (an OSError) for a folder another user owns or may write to."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Another local user's folder would hand them the CA key and the password hashes.
    check_private_folder(data_dir)
    init_db(data_dir)
    return RegistrationService(CertificateAuthority.load_or_create(data_dir, clock()), clock, limits)


class RunningRegistry:
    """The HTTP server and the chores of one registry, started and stopped together.

    Stopping stops the server first, so that it drains, and the chores after
    it, so that what the last requests noted (their poll times) is written.
    """

    def __init__(self, server: RegistryServer, chores: ChoreRunner):
        self._server = server
        self._chores = chores

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> None:
        self._server.start()
        self._chores.start()

    def stop(self) -> None:
        try:
            self._server.stop()
        finally:
            self._chores.stop()


def start_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool = True,
                 wrap_app: Callable = lambda app: app) -> RunningRegistry:
    """Serve the HTTP API in a worker thread, HTTPS with a CA-issued certificate unless
    ``tls`` is False, with the registry's chores beside it. ``wrap_app`` may put WSGI
    middleware around the app (the benchmarks put a baseline route beside it)."""
    running = RunningRegistry(_build_server(service, data_dir, host, port, tls, wrap_app),
                              ChoreRunner(registry_chores(service), release=service.release_connection))
    running.start()
    return running


def _build_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool,
                  wrap_app: Callable) -> RegistryServer:
    context = None
    if tls:
        dns_names, addresses = local_names(host)
        cert_path, key_path = service.ca.ensure_server_certificate(data_dir, dns_names, addresses, service.clock())
        context = server_context(cert_path, key_path, Path(data_dir) / CA_CERT_FILE)
    else:
        log.warning("TLS IS OFF: passwords and certificates cross the network in clear text. "
                    "Use --no-tls for local experiments only.")
    return RegistryServer(wrap_app(create_app(service)), host, port, context)
