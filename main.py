"""Client Registry: the admin window with the HTTPS server (default), the server
alone (--headless), the admin command line (admin …) and the agent's tools
(enroll …, renew …)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from wiring import DATA_DIR_VARIABLE, DATABASE_VARIABLE, default_data_dir

    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                      help=f"where the database and the CA live (default: ${DATA_DIR_VARIABLE}, "
                           f"else {default_data_dir()})")
    data.add_argument("--database", default=argparse.SUPPRESS, metavar="URL",
                      help="a PostgreSQL database that several instances share, "
                           f"postgresql://USER:PASSWORD@HOST:PORT/DB (default: ${DATABASE_VARIABLE}, else the "
                           "SQLite file in the data folder); the CA files stay in the data folder")
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__, parents=[data])
    parser.add_argument("--headless", action="store_true", help="run the server without the window")
    parser.add_argument("--no-server", action="store_true",
                        help="the window alone, on a registry that other instances serve")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=8443, help="port to listen on; 0 picks a free one (default 8443)")
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP, for local experiments only")
    parser.add_argument("--pending-max-age", type=_positive_hours, default=24, metavar="HOURS",
                        help="expire pending requests older than this (default 24)")
    parser.add_argument("--public-url", type=_public_url, metavar="URL",
                        help="how agents reach this registry, e.g. https://registry.plant.example:8443; issued "
                             "certificates then name URL/api/client-registry/crl as their CRL distribution point")
    parser.add_argument("--trust-proxy", type=_proxy_addresses, default=(), metavar="ADDRESS[,ADDRESS]",
                        help="load balancers (IP addresses) whose connections begin with a PROXY protocol header "
                             "(v1 or v2) naming the agent's address; required from them, refused from anyone else")
    parser.add_argument("--notify-url", type=_notify_url, metavar="URL",
                        help="POST a JSON event there for every new pending request, grant, reject, revocation "
                             "and expiry, in the background and retried (never a password)")
    subparsers = parser.add_subparsers(dest="command", metavar="{admin,enroll,renew}")

    from cli.admin import add_admin_parser
    from client.enroll import add_enroll_parser
    from client.renew import add_renew_parser

    add_admin_parser(subparsers, parents=[data])
    add_enroll_parser(subparsers)
    add_renew_parser(subparsers)
    return parser


def _positive_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = 0
    if not 0 < hours < 10_000:
        raise argparse.ArgumentTypeError(f"expected a number of hours above 0, not {text!r}")
    return hours


def _public_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"expected a URL like https://registry.plant.example:8443, not {text!r}")
    if not parts.hostname.isascii():  # the server certificate names it, and names only in ASCII
        raise argparse.ArgumentTypeError(f"write the host of {text!r} in its ASCII form (xn--…)")
    return text.rstrip("/")


def _proxy_addresses(text: str) -> tuple[str, ...]:
    import ipaddress

    try:
        return tuple(str(ipaddress.ip_address(part.strip())) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected IP addresses separated by commas, like 10.0.0.5,10.0.0.6, "
                                         f"not {text!r}") from None


def _notify_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected a URL like https://hooks.plant.example/registry, not {text!r}")
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["enroll"], ["renew"]):
        return run_agent_only(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if not hasattr(args, "data_dir"):
        from wiring import default_data_dir

        args.data_dir = default_data_dir()
    if not hasattr(args, "database"):
        from wiring import default_database_url

        args.database = default_database_url()
    if args.headless and args.no_server:
        parser.print_usage(sys.stderr)
        print("main.py: error: --headless and --no-server leave nothing to run; choose one", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "admin":
        from cli.admin import run_admin

        return run_admin(args)
    if args.command in ("enroll", "renew"):  # reached only as `main.py --option enroll`
        return run_agent_only(argv[argv.index(args.command):])
    from server.limits import Limits

    args.limits = Limits(pending_max_age_seconds=args.pending_max_age * 3600)
    if args.headless:
        return run_headless(args)
    return run_window(args)


def run_agent_only(argv: list[str]) -> int:
    """The agent side, without importing the server's packages or Qt: on a device
    only the standard library and cryptography need to be installed."""
    from client.__main__ import main as agent_main

    return agent_main(argv, prog="main.py")


def run_window(args: argparse.Namespace) -> int:
    """The window with the server in a worker thread, until the window is closed,
    Ctrl-C or SIGTERM; then everything stops cleanly."""
    from gui.app import cannot_start, close_on_signals, show_window, start_application
    from server.ca import CaError
    from server.instance_lock import AlreadyRunning, claim
    from server.service import RegistryUnavailable
    from wiring import freeze_start_up_objects, open_registry, start_server

    app = start_application()
    if app is None:
        return 1
    try:
        lock = None if args.no_server else claim(args.data_dir)  # held while this process serves
    except (AlreadyRunning, OSError) as error:
        return cannot_start(str(error))
    wake = close_on_signals(app)  # before the server starts: a signal may come at any moment after
    server = None
    try:
        service = open_registry(args.data_dir, limits=args.limits, public_url=args.public_url,
                                database_url=args.database)
        if not args.no_server:
            server = start_server(service, args.data_dir, args.host, args.port, tls=not args.no_tls,
                                  notify_url=args.notify_url, public_url=args.public_url,
                                  trusted_proxies=args.trust_proxy)
    except (OSError, CaError, RegistryUnavailable) as error:
        wake.stop()
        if lock is not None:
            lock.release()
        return cannot_start(str(error))
    freeze_start_up_objects()
    try:
        return show_window(app, service, server.agent_urls if server else [])
    finally:
        wake.stop()
        if server is not None:
            server.stop()  # whatever happened above: a live worker thread would keep the process alive
        if lock is not None:
            lock.release()


def run_headless(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, then stop cleanly."""
    from server.ca import CaError
    from server.instance_lock import AlreadyRunning, claim
    from server.service import RegistryUnavailable
    from wiring import freeze_start_up_objects, open_registry, start_server

    # Before the server starts: a signal may come the moment "listening on" is logged,
    # while the chores are still starting, and must stop the server, not interrupt its start.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        lock = claim(args.data_dir)  # held while this process serves
        service = open_registry(args.data_dir, limits=args.limits, public_url=args.public_url,
                                database_url=args.database)
        server = start_server(service, args.data_dir, args.host, args.port, tls=not args.no_tls,
                              notify_url=args.notify_url, public_url=args.public_url,
                              trusted_proxies=args.trust_proxy)
    except (OSError, CaError, RegistryUnavailable, AlreadyRunning) as error:
        logging.getLogger("main").error("cannot start: %s", error)
        return 1
    freeze_start_up_objects()
    stop.wait()
    server.stop()
    lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
