"""Behind a real HAProxy with the README's configuration (``--trust-proxy``): TLS and
mutual TLS stay end to end, and the registry sees each agent's address, not the
balancer's.

Agents connect from 127.0.0.2 and 127.0.0.3 (Linux routes all of 127.0.0.0/8 to
loopback) and HAProxy from 127.0.0.1, so the registry's view tells them apart.
Agents are curl, as on a device, reaching the balancer by its public name.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import main
from common.api_paths import CA_PATH, REGISTER_PATH, WHOAMI_PATH
from server.ca import CA_CERT_FILE
from server.limits import Limits
from server.service import RegistrationService
from storage import close_db
from tests.helpers import key_pem, make_csr
from tests.processes import Registry, wait_until
from tests.servers import require_program
from wiring import RunningRegistry, open_registry, start_server

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs all of 127.0.0.0/8 on loopback")

PUBLIC_NAME = "registry.plant.example"  # the balancer's name, as in the README
AGENT, OTHER_AGENT = "127.0.0.2", "127.0.0.3"
PASSWORD = "s3cret-pw"
NEW_REQUESTS_PER_ADDRESS = 2
PROXY_V1_FROM_ELSEWHERE = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 8443\r\n"
PROXY_V2_FROM_ELSEWHERE = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + bytes([192, 0, 2, 7, 127, 0, 0, 1])
                           + (40000).to_bytes(2, "big") + (8443).to_bytes(2, "big"))


@dataclass
class Agents:
    """curl at an agent's address, to the balancer by its public name, trusting only the CA."""

    balancer_port: int
    ca_file: Path

    def request(self, path: str, *, source: str = AGENT, document: dict | None = None,
                cert: tuple[Path, Path] | None = None) -> tuple[int, str]:
        """(status, body) of a GET, or of a POST of ``document`` as JSON."""
        arguments = [require_program("curl", "curl"), "-sS", "--max-time", "20", "--interface", source,
                     "--cacert", str(self.ca_file), "--resolve", f"{PUBLIC_NAME}:{self.balancer_port}:127.0.0.1",
                     "-w", "\n%{http_code}", f"https://{PUBLIC_NAME}:{self.balancer_port}{path}"]
        if document is not None:
            arguments += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(document)]
        if cert is not None:
            arguments += ["--cert", str(cert[0]), "--key", str(cert[1])]
        done = subprocess.run(arguments, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        body, _, status = done.stdout.rpartition("\n")
        return int(status), body


@dataclass
class BehindHaproxy:
    service: RegistrationService
    server: RunningRegistry
    agents: Agents
    seen: list[tuple[str, str]]  # (REMOTE_ADDR, path) of every request the app was given


@pytest.fixture
def behind_haproxy(tmp_path, clock, haproxy):
    """A registry served in this process (a low new-request limit), trusting HAProxy
    on 127.0.0.1, and HAProxy in front of it."""
    data = tmp_path / "data"
    service = open_registry(data, clock, Limits(new_requests_per_address=NEW_REQUESTS_PER_ADDRESS))
    seen = []

    def noting_sources(app):
        def noted(environ, start_response):
            seen.append((environ["REMOTE_ADDR"], environ["PATH_INFO"]))
            return app(environ, start_response)
        return noted

    server = start_server(service, data, "127.0.0.1", 0, wrap_app=noting_sources,
                          public_url=f"https://{PUBLIC_NAME}:{haproxy.port}", trusted_proxies=[haproxy.address])
    try:
        haproxy.start(server.port)
        yield BehindHaproxy(service, server, Agents(haproxy.port, data / CA_CERT_FILE), seen)
    finally:
        server.stop()
        close_db()


def registration(username: str, **fields) -> dict:
    return {"username": username, "password": PASSWORD, **fields}


def warnings_from_the_server(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING and record.name.startswith("server")]


def test_a_registration_through_haproxy_stores_the_agents_address(behind_haproxy):
    behind_haproxy.service.open("tester")
    status, body = behind_haproxy.agents.request(REGISTER_PATH, document=registration("press7"))
    assert (status, json.loads(body)["status"]) == (202, "pending")
    assert behind_haproxy.service.details("press7").source_address == AGENT
    assert behind_haproxy.service.audit_log(limit=1)[0].actor == f"agent {AGENT}"
    assert (AGENT, REGISTER_PATH) in behind_haproxy.seen


def test_haproxys_health_checks_pass_and_log_nothing(behind_haproxy, caplog):
    # A check is a LOCAL PROXY header, TLS and a GET: the balancer's own address stands.
    wait_until(lambda: ("127.0.0.1", CA_PATH) in behind_haproxy.seen, "a health check")
    assert behind_haproxy.agents.request(CA_PATH)[0] == 200
    assert warnings_from_the_server(caplog) == []


def test_new_requests_are_limited_per_agent_behind_the_balancer(behind_haproxy):
    behind_haproxy.service.open("tester")
    request = behind_haproxy.agents.request
    statuses = [request(REGISTER_PATH, document=registration(f"pump{n}"))[0]
                for n in range(NEW_REQUESTS_PER_ADDRESS + 1)]
    assert statuses == [202] * NEW_REQUESTS_PER_ADDRESS + [429]
    # Another agent behind the same balancer has a bucket of its own.
    assert request(REGISTER_PATH, source=OTHER_AGENT, document=registration("valve1"))[0] == 202


def test_open_connections_are_counted_per_agent_behind_the_balancer(behind_haproxy, monkeypatch):
    monkeypatch.setattr("server.web.admission.OPEN_PER_ADDRESS", 2)
    context = ssl.create_default_context(cafile=str(behind_haproxy.agents.ca_file))
    port = behind_haproxy.agents.balancer_port

    def connect(source: str) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        return context.wrap_socket(raw, server_hostname=PUBLIC_NAME)

    held = [connect(AGENT) for _ in range(2)]
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            connect(AGENT).close()
        connect(OTHER_AGENT).close()
    finally:
        for connection in held:
            connection.close()


def raw_https_status(port: int, source: str, *header_pieces: bytes) -> int:
    """The status of a GET of the CA over a connection from ``source`` straight to the
    registry, the pieces of a header sent one by one before the TLS handshake."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # only who is let in matters here
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in header_pieces:
            raw.sendall(piece)
            time.sleep(0.1)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(f"GET {CA_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            return int(tls.recv(64).split(b" ")[1])


@pytest.mark.parametrize("header", [PROXY_V1_FROM_ELSEWHERE, PROXY_V2_FROM_ELSEWHERE], ids=["v1", "v2"])
def test_a_proxy_header_from_an_untrusted_address_is_refused_and_plain_https_from_it_works(
        behind_haproxy, caplog, header):
    port = behind_haproxy.server.port
    with pytest.raises((ssl.SSLError, OSError)):
        raw_https_status(port, AGENT, header)
    assert raw_https_status(port, AGENT) == 200
    assert ("192.0.2.7", CA_PATH) not in behind_haproxy.seen and (AGENT, CA_PATH) in behind_haproxy.seen
    assert warnings_from_the_server(caplog) == [
        f"dropped 1 connections that began with a PROXY header from an address not trusted with --trust-proxy "
        f"(last: {AGENT})"]


def test_a_trusted_address_must_send_the_header(behind_haproxy, caplog):
    port = behind_haproxy.server.port
    with pytest.raises((ssl.SSLError, OSError)):
        raw_https_status(port, "127.0.0.1")
    assert warnings_from_the_server(caplog) == [
        "dropped 1 connections from a trusted proxy without a valid PROXY header (last: 127.0.0.1: no PROXY header)"]
    # Version 1 (HAProxy's send-proxy) from the trusted address names the agent too.
    assert raw_https_status(port, "127.0.0.1", PROXY_V1_FROM_ELSEWHERE) == 200
    assert ("192.0.2.7", CA_PATH) in behind_haproxy.seen


@pytest.mark.parametrize("header", [PROXY_V1_FROM_ELSEWHERE, PROXY_V2_FROM_ELSEWHERE], ids=["v1", "v2"])
def test_a_header_that_trickles_in_is_read_whole_and_no_byte_of_tls_with_it(behind_haproxy, header):
    pieces = [header[:3], header[3:14], header[14:-1], header[-1:]]  # v1's CR and LF apart
    assert raw_https_status(behind_haproxy.server.port, "127.0.0.1", *pieces) == 200
    assert ("192.0.2.7", CA_PATH) in behind_haproxy.seen


def test_mutual_tls_whoami_through_haproxy(tmp_path, haproxy):
    """``main.py --headless --trust-proxy … --public-url …`` as its own process, granted
    with ``main.py admin``, and a device that proves itself with its certificate."""
    registry = Registry(tmp_path, "--trust-proxy", haproxy.address,
                        "--public-url", f"https://{PUBLIC_NAME}:{haproxy.port}")
    registry.start()
    try:
        haproxy.start(registry.port)
        agents = Agents(haproxy.port, registry.ca_file)
        registry.admin("open")
        csr, key = make_csr("press7")
        assert agents.request(REGISTER_PATH, document=registration("press7", csr=csr))[0] == 202
        registry.admin("grant", "press7")
        status, granted = agents.request(REGISTER_PATH, document=registration("press7", csr=csr))
        assert status == 201
        (tmp_path / "press7.crt").write_text(json.loads(granted)["certificate"])
        (tmp_path / "press7.key").write_bytes(key_pem(key))
        status, body = agents.request(WHOAMI_PATH, cert=(tmp_path / "press7.crt", tmp_path / "press7.key"))
        assert status == 200
        assert (json.loads(body)["username"], json.loads(body)["authenticatedBy"]) == ("press7", "certificate")
        assert registry.registrations()[0]["sourceAddress"] == AGENT
    finally:
        registry.stop()


@pytest.mark.parametrize("arguments, complaint", [
    (["--trust-proxy", "10.0.0.5,balancer"], "argument --trust-proxy: expected IP addresses separated by commas"),
    (["--trust-proxy", "10.0.0.5,"], "argument --trust-proxy: expected IP addresses"),
    (["--trust-proxy", "10.0.0.256"], "argument --trust-proxy: expected IP addresses"),
    (["--public-url", "https://régistre.example:8443"], "argument --public-url: write the host of"),
])
def test_a_bad_option_value_is_one_line_and_exit_2(capsys, arguments, complaint):
    assert main.main(["--headless", *arguments]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith(f"main.py: error: {complaint}")
