"""Wiring a registry together: data folder -> database -> CA -> service -> HTTP server."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from server.ca import CA_CERT_FILE, CertificateAuthority
from server.http_app import create_app
from server.housekeeping import Housekeeping
from server.http_server import RegistryServer
from server.limits import Limits
from server.service import Clock, RegistrationService
from server.tls import local_names, server_context
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
    """The service over ``data_dir``, creating the folder, database and CA on first use."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    init_db(data_dir)
    return RegistrationService(CertificateAuthority.load_or_create(data_dir, clock()), clock, limits)


def start_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool = True) -> RegistryServer:
    """Serve the HTTP API in a worker thread; HTTPS with a CA-issued certificate unless ``tls`` is False."""
    server = build_server(service, data_dir, host, port, tls)
    server.start()
    return server


def build_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool = True,
                 wrap_app: Callable = lambda app: app) -> RegistryServer:
    """The server ``start_server`` starts; ``wrap_app`` may put WSGI middleware around
    the app (the benchmarks put a baseline route beside it)."""
    context = None
    dns_names, addresses = local_names(host)
    if tls:
        cert_path, key_path = service.ca.ensure_server_certificate(data_dir, dns_names, addresses, service.clock())
        context = server_context(cert_path, key_path, Path(data_dir) / CA_CERT_FILE)
    else:
        log.warning("TLS IS OFF: passwords and certificates cross the network in clear text. "
                    "Use --no-tls for local experiments only.")
    return RegistryServer(wrap_app(create_app(service)), host, port, context, companions=(Housekeeping(service),),
                          names=(dns_names, addresses))
