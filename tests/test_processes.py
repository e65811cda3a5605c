"""The headless server and the admin CLI as separate processes on one data folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


from tests.helpers import Client, make_csr
from tests.processes import ROOT, Registry, wait_until


def test_headless_logs_where_it_listens_and_stops_cleanly_on_sigterm(registry):
    assert re.search(rf"listening on https://127\.0\.0\.1:{registry.port}\b", registry.log.read_text())
    assert registry.stop() == 0
    assert "stopped listening" in registry.log.read_text()
    assert "Traceback" not in registry.log.read_text()


def test_ctrl_c_stops_cleanly_too(registry):
    registry.process.send_signal(signal.SIGINT)
    assert registry.process.wait(10) == 0
    assert "stopped listening" in registry.log.read_text()


def test_port_zero_names_the_real_port(tmp_path):
    process = subprocess.Popen([sys.executable, "main.py", "--headless", "--host", "127.0.0.1", "--port", "0",
                                "--data-dir", str(tmp_path / "data")],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = wait_until(lambda: next((l for l in iter(process.stderr.readline, "") if "listening on" in l), None),
                          "the listening line")
        port = int(re.search(r"listening on https://127\.0\.0\.1:(\d+)", line).group(1))
        assert port != 0
        reply = Client(f"https://127.0.0.1:{port}", tmp_path / "data" / "ca.crt").request(
            "GET", "/api/client-registry/ca")
        assert reply.status == 200
    finally:
        process.terminate()
        process.wait(10)


def test_no_tls_warns_loudly_and_speaks_plain_http(tmp_path):
    plain = Registry(tmp_path, "--no-tls")
    plain.url = plain.url.replace("https://", "http://")
    plain.start()
    try:
        assert "TLS IS OFF" in plain.log.read_text()
        assert Client(plain.url).request("GET", "/api/client-registry/ca").status == 200
    finally:
        plain.kill()


def test_data_folder_from_the_environment(tmp_path):
    environment = {**os.environ, "CLIENT_REGISTRY_DATA_DIR": str(tmp_path / "from-env")}
    done = subprocess.run([sys.executable, "main.py", "admin", "status"], cwd=ROOT, env=environment,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "from-env" in done.stderr  # looked there, found no registry yet


def test_a_taken_port_is_a_one_line_error(registry, tmp_path):
    done = subprocess.run([sys.executable, "main.py", "--headless", "--host", "127.0.0.1", "--port",
                           str(registry.port), "--data-dir", str(tmp_path / "other")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    # A fresh data folder logs its new CA first; the failure itself is one line.
    lines = [line for line in done.stderr.splitlines() if "created a new certificate authority" not in line]
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(f"cannot start: port {registry.port} is already in use on 127.0.0.1; "
                             "pick another with --port")


def test_server_and_cli_on_one_data_folder_lose_nothing(registry):
    """Agents register and poll the server process while the admin grants and
    rejects from CLI processes at the same time: every write lands."""
    registry.admin("open")
    client = Client(registry.url, registry.ca_file)
    agents = [{"username": f"dev{number:02d}", "password": f"pw-{number:05d}", "csr": make_csr(f"dev{number:02d}")[0]}
              for number in range(16)]
    with ThreadPoolExecutor(4) as pool:
        assert set(reply.status for reply in pool.map(client.register_as_an_agent, agents)) == {202}

    final: dict[str, int] = {}
    stop = threading.Event()

    def keep_polling(agent):
        while not stop.is_set():
            status = client.register(agent).status
            if status in (201, 403):
                final[agent["username"]] = status
                return

    with ThreadPoolExecutor(8) as pollers:
        polling = [pollers.submit(keep_polling, agent) for agent in agents]
        with ThreadPoolExecutor(4) as admins:
            decisions = [admins.submit(registry.admin, "grant" if n % 4 else "reject", agent["username"])
                         for n, agent in enumerate(agents)]
            for decision in decisions:
                decision.result()
        for future in polling:
            future.result(timeout=60)
        stop.set()

    expected = {agent["username"]: 403 if n % 4 == 0 else 201 for n, agent in enumerate(agents)}
    assert final == expected
    rows = {row["username"]: row["status"] for row in registry.registrations()}
    assert rows == {name: "rejected" if status == 403 else "granted" for name, status in expected.items()}
    log = registry.admin("log", "--json").stdout
    assert log.count('"action": "grant"') == 12 and log.count('"action": "reject"') == 4
    assert log.count('"action": "request"') == 16
