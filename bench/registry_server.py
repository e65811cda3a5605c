"""The registry served for the polling benchmarks, with a trivial baseline route beside it.

Run as its own process (``python -m bench.registry_server DATA_DIR [--database URL]
[--trust-proxy ADDRESS]``) so that the
load generator never shares its two cores' worth of GIL with it. It prints its
URL on standard output once listening and stops when standard input closes.

The baseline route is served by the very same cheroot server, TLS context and
bottle stack as the registry: it reads the same JSON body and answers a small
JSON document, so the ratio of the two isolates the registry's own work
(validation, lookup, password check, poll bookkeeping). It exists only in this
process; the product has no such route.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bottle import Bottle, HTTPResponse, request

from wiring import RunningRegistry, freeze_start_up_objects, open_registry, start_server
from server.limits import Limits
from server.service import MAX_OPEN_SECONDS

TRIVIAL_PATH = "/bench/trivial"
HOST = "127.0.0.1"
# Every simulated agent comes from 127.0.0.1, which the default limits would
# rightly take for a flood of new registrations from one address.
BENCH_LIMITS = Limits(new_requests_per_address=10**9)


def with_trivial_route(registry_app):
    """A WSGI app that sends ``POST /bench/trivial`` to a one-route bottle app and
    everything else to ``registry_app``: both pass through the same dispatch."""
    trivial_app = Bottle()

    @trivial_app.post(TRIVIAL_PATH)
    def trivial():
        body = request.body.read()
        return HTTPResponse(json.dumps({"status": "ok", "received": len(body)}), 200,
                            {"Content-Type": "application/json", "Cache-Control": "no-store"})

    def dispatch(environ, start_response):
        target = trivial_app if environ.get("PATH_INFO") == TRIVIAL_PATH else registry_app
        return target(environ, start_response)

    return dispatch


def serve(data_dir: Path, database_url: str | None = None, trusted_proxies: tuple[str, ...] = ()) -> RunningRegistry:
    service = open_registry(data_dir, limits=BENCH_LIMITS, database_url=database_url)
    # New registrations (the arrivals) need the registry open for the whole run.
    service.open("benchmark", MAX_OPEN_SECONDS)
    return start_server(service, data_dir, HOST, 0, wrap_app=with_trivial_route, trusted_proxies=trusted_proxies)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m bench.registry_server")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--database", metavar="URL")
    parser.add_argument("--trust-proxy", action="append", default=[], metavar="ADDRESS")
    arguments = parser.parse_args(argv)
    server = serve(arguments.data_dir, arguments.database, tuple(arguments.trust_proxy))
    freeze_start_up_objects()  # as main.py does
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes our standard input
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
