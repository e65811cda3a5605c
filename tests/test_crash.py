"""SIGKILL at random moments during a grant storm loses nothing and corrupts nothing."""

from __future__ import annotations

import http.client
import random
import sqlite3
import subprocess
import sys
import threading
import time

from cryptography import x509

from common.fingerprints import certificate_fingerprint
from tests.helpers import Client, make_csr
from tests.processes import ROOT, Registry

AGENTS = 30


def test_killing_server_and_granting_cli_at_random_moments(tmp_path):
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    print(f"random seed {seed}")  # shown when the test fails, to replay it

    registry = Registry(tmp_path)
    registry.start()
    try:
        registry.admin("open")
        client = Client(registry.url, registry.ca_file)
        agents = {f"dev{n:02d}": {"username": f"dev{n:02d}", "password": f"pw-{n:05d}",
                                  "csr": make_csr(f"dev{n:02d}")[0]} for n in range(AGENTS)}
        for agent in agents.values():
            assert client.register(agent).status == 202

        stop_polling = threading.Event()

        def poll_forever():
            # Poll writes too (last poll time): more moments to be killed in.
            while not stop_polling.is_set():
                for agent in agents.values():
                    try:
                        client.register(agent)
                    except (OSError, http.client.HTTPException):  # killed mid-answer: IncompleteRead
                        stop_polling.wait(0.05)  # the server is down for a moment

        poller = threading.Thread(target=poll_forever)
        poller.start()
        try:
            for username in agents:
                grant = subprocess.Popen([sys.executable, "main.py", "admin", "--data-dir", str(registry.data_dir),
                                          "grant", username], cwd=ROOT,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(chance.uniform(0.2, 0.7))  # the moment of the kill is the point
                if chance.random() < 0.5:
                    grant.kill()
                grant.wait()
                if chance.random() < 0.3:
                    registry.kill()
                    registry.start()
        finally:
            stop_polling.set()
            poller.join()

        registry.kill()
        registry.start()
        check_database(registry, agents, client)
    finally:
        registry.kill()


def check_database(registry: Registry, agents: dict, client: Client) -> None:
    database = sqlite3.connect(registry.data_dir / "registry.sqlite3")
    try:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = database.execute(
            "SELECT r.username, r.status, c.pem, c.serial, c.fingerprint "
            "FROM registration r LEFT JOIN certificate c ON c.registration_id = r.id").fetchall()
        grants = {row[0] for row in database.execute("SELECT username FROM audit_entry WHERE action = 'grant'")}
    finally:
        database.close()

    assert sorted(row[0] for row in rows) == sorted(agents)
    ca = x509.load_pem_x509_certificate(registry.ca_file.read_bytes())
    serials = []
    for username, status, pem, serial, fingerprint in rows:
        assert status in ("pending", "granted"), (username, status)
        if status == "pending":
            assert (pem, serial, fingerprint) == (None, None, None)
            assert username not in grants
            continue
        assert username in grants  # the grant and its audit entry committed together
        certificate = x509.load_pem_x509_certificate(pem.encode())
        certificate.verify_directly_issued_by(ca)
        assert format(certificate.serial_number, "x") == serial
        assert certificate_fingerprint(certificate) == fingerprint
        csr = x509.load_pem_x509_csr(agents[username]["csr"].encode())
        assert certificate.public_key() == csr.public_key()
        reply = client.register(agents[username])
        assert reply.status == 201 and reply.json["certificate"] == pem
        serials.append(serial)
    assert len(serials) == len(set(serials))
    assert serials, "the storm granted nothing: the kills came too early to test anything"
