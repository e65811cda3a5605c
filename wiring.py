"""Wiring a registry together: data folder -> storage -> core -> HTTP server -> chores.

``main.py`` calls these for the window and ``--headless``; the tests and the
benchmarks call them too, so that what they run is what a user runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from common.api_paths import CRL_PATH
from common.files import OWNER_ONLY, check_private_folder, write_atomically
from server.ca import CA_CERT_FILE, CA_KEY_FILE, CaError, CertificateAuthority
from server.chores import ChoreLeases, ChoreRunner, registry_chores
from server.limits import Limits
from server.service import Clock, RegistrationService
from server.tls import local_names, server_context, with_public_host
from server.web.http_server import RegistryServer
from server.web import est
from server.web.json_api import create_app
from storage import DATABASE_FILE, certificates, init_db, registrations, registry_state

log = logging.getLogger(__name__)

DATA_DIR_VARIABLE = "CLIENT_REGISTRY_DATA_DIR"
DATABASE_VARIABLE = "CLIENT_REGISTRY_DATABASE"
CRL_FILE = "crl.pem"
SETUP_LOCK_FILE = "setup.lock"


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


def default_database_url() -> str | None:
    """``$CLIENT_REGISTRY_DATABASE`` (better than the command line for a URL with a
    password, which other local users can read in the process list), else None: SQLite."""
    return os.environ.get(DATABASE_VARIABLE) or None


def freeze_start_up_objects() -> None:
    """Take what start-up made (modules, the app, the CA, the caches as loaded) out of the
    cyclic garbage collector's way, once a process serves. Nearly all of it lives as long
    as the process, yet every full collection walked it again while every thread waited:
    ~50 ms about every ten seconds under load, in the tail of every agent's latency (6–11 ms
    after this, in the bench's server). Objects freed by their reference count are freed as before."""
    gc.collect()
    gc.freeze()


def wait_for_registry(data_dir: Path, seconds: float) -> bool:
    """Whether ``data_dir`` holds a registry, waiting up to ``seconds`` for one that a
    process starting at the same moment is still creating."""
    deadline = time.monotonic() + seconds
    while not (Path(data_dir) / DATABASE_FILE).exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def open_registry(data_dir: Path, clock: Clock = time.time, limits: Limits = Limits(),
                  public_url: str | None = None, database_url: str | None = None) -> RegistrationService:
    """The service over ``data_dir`` and the database (the SQLite file in ``data_dir``, or the
    PostgreSQL server of ``database_url``): the folder, database and CA are created on first
    use, and an older database is upgraded.

    A registry is never silently replaced: the CA is created only where neither the
    folder nor the database holds a registry, once even when several processes start
    on a fresh folder together (they take turns under a lock), and a folder whose CA
    files or database went missing is refused with CaError naming what is missing.
    The first process records the CA in the database; one whose CA differs is refused
    (instances on one PostgreSQL are each given the same CA files).
    Raises ``UnsafePath`` (an OSError) for a folder another user owns or may write to.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Another local user's folder would hand them the CA key and the password hashes.
    check_private_folder(data_dir)
    with _setup_lock(data_dir):
        present = CertificateAuthority.files_present(data_dir)
        if database_url is None:
            database = data_dir / DATABASE_FILE
            if present and not (database.exists() and database.stat().st_size > 0):
                raise CaError(f"{database} is missing or empty, but the CA is there: the registry's data is lost; "
                              f"restore a backup, or move {', '.join(p.name for p in present)} away to start anew")
        init_db(data_dir, database_url)
        if present or registry_state.ca_recorded() or registrations.count() or certificates.listed():
            ca = CertificateAuthority.load(data_dir)
        else:
            ca = CertificateAuthority.create(data_dir, clock())
        if registry_state.record_ca(ca.certificate_der) != ca.certificate_der:
            raise CaError(f"the CA in {data_dir} is not the one this registry's database was opened with first; "
                          f"give every instance the same {CA_KEY_FILE} and {CA_CERT_FILE}")
    crl_url = public_url.rstrip("/") + CRL_PATH if public_url else None
    return RegistrationService(ca, clock, limits, publish_crl=lambda der: publish_crl(data_dir, der),
                               crl_url=crl_url)


def publish_crl(data_dir: Path, der: bytes) -> None:
    """``crl.pem`` in the data folder, replaced atomically and owner-only like every file
    there: a broker running as the same user may point its ``crlfile`` at it; any other
    fetches ``/api/client-registry/crl``."""
    pem = x509.load_der_x509_crl(der).public_bytes(Encoding.PEM)
    write_atomically(Path(data_dir) / CRL_FILE, pem, OWNER_ONLY)


@contextlib.contextmanager
def _setup_lock(data_dir: Path) -> Iterator[None]:
    """Held while a process creates or upgrades the registry in ``data_dir``."""
    descriptor = os.open(data_dir / SETUP_LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class RunningRegistry:
    """The HTTP server and the chores of one registry, started and stopped together.

    Stopping stops the server first, so that it drains, and the chores after
    it, so that what the last requests noted (their poll times) is written.
    """

    def __init__(self, server: RegistryServer, chores: ChoreRunner, public_url: str | None = None):
        self._server = server
        self._chores = chores
        self._public_url = public_url

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def agent_urls(self) -> list[str]:
        """Where agents reach the registry: ``--public-url`` first (a balancer's name, say),
        then this host's own URLs."""
        own = self._server.agent_urls
        return own if self._public_url is None else [self._public_url, *(url for url in own if url != self._public_url)]

    def start(self) -> None:
        self._server.start()
        self._chores.start()

    def stop(self) -> None:
        try:
            self._server.stop()
        finally:
            self._chores.stop()


def start_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool = True,
                 wrap_app: Callable = lambda app: app, notify_url: str | None = None,
                 public_url: str | None = None, trusted_proxies: Iterable[str] = ()) -> RunningRegistry:
    """Serve the HTTP API in a worker thread, HTTPS with a CA-issued certificate unless
    ``tls`` is False, with the registry's chores beside it (the notifier too, given
    ``notify_url``). The certificate names ``public_url``'s host besides this host's;
    connections from ``trusted_proxies`` carry a PROXY header naming the agent.
    ``wrap_app`` may put WSGI middleware around the app (the benchmarks put a
    baseline route beside it)."""
    service.crl()  # the first CRL (and crl.pem) exists before the first request
    server = _build_server(service, data_dir, host, port, tls, wrap_app, public_url, trusted_proxies)
    running = RunningRegistry(server,
                              ChoreRunner(registry_chores(service, notify_url=notify_url),
                                          release=service.release_connection, leases=ChoreLeases(service.clock)),
                              public_url)
    running.start()
    return running


def _build_server(service: RegistrationService, data_dir: Path, host: str, port: int, tls: bool,
                  wrap_app: Callable, public_url: str | None, trusted_proxies: Iterable[str]) -> RegistryServer:
    context = None
    dns_names, addresses = local_names(host)
    if tls:
        cert_path, key_path = service.ca.ensure_server_certificate(
            data_dir, *with_public_host(dns_names, addresses, public_url), service.clock())
        context = server_context(cert_path, key_path, Path(data_dir) / CA_CERT_FILE)
    else:
        log.warning("TLS IS OFF: passwords and certificates cross the network in clear text. "
                    "Use --no-tls for local experiments only.")
    return RegistryServer(wrap_app(create_app(service, est.add_routes)), host, port, context,
                          names=(dns_names, addresses), trusted_proxies=trusted_proxies)
