"""The data folder is never silently replaced, and trouble with it is one line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from server.ca import CA_CERT_FILE, CA_KEY_FILE, CaError
from storage import DATABASE_FILE, close_db
from tests.helpers import Client, make_csr
from tests.processes import ROOT, Registry, free_port, wait_until
from wiring import open_registry


def run_main(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def one_line_refusal(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def registry_with_a_grant(tmp_path):
    """A data folder whose registry granted alice a certificate; no process holds it."""
    data = tmp_path / "data"
    service = open_registry(data)
    service.open("tester")
    from server.validation import parse_registration

    service.register(parse_registration(json.dumps(
        {"username": "alice", "password": "alice-pw", "csr": make_csr("alice")[0]}).encode()), "10.0.0.1")
    service.grant("alice", "tester")
    close_db()
    return data


OPEN_TOGETHER = """
import sys
from wiring import open_registry
print(open_registry(sys.argv[1]).ca.fingerprint)
"""


def test_processes_starting_together_on_a_fresh_folder_make_one_matching_ca(tmp_path):
    for attempt in range(4):
        data = tmp_path / f"fresh{attempt}"
        starters = [subprocess.Popen([sys.executable, "-c", OPEN_TOGETHER, str(data)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [starter.communicate(timeout=60) for starter in starters]
        assert all(starter.returncode == 0 for starter in starters), results
        assert len({out.strip() for out, _ in results}) == 1  # one CA, seen by all
        key = serialization.load_pem_private_key((data / CA_KEY_FILE).read_bytes(), None)
        certificate = x509.load_pem_x509_certificate((data / CA_CERT_FILE).read_bytes())
        assert certificate.public_key() == key.public_key()


def test_the_readme_walkthrough_works_when_pasted_as_written(tmp_path):
    """`main.py --headless … &` and, at once, `admin open`: the CLI waits for the registry being made."""
    for attempt in range(3):
        data = tmp_path / f"walk{attempt}"
        server = subprocess.Popen([sys.executable, "main.py", "--headless", "--host", "127.0.0.1",
                                   "--port", str(free_port()), "--data-dir", str(data)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            opened = run_main("admin", "--data-dir", str(data), "open")
            assert opened.returncode == 0, opened.stderr
            assert opened.stdout.startswith("open until")
        finally:
            server.terminate()
            server.wait(10)
        assert run_main("admin", "--data-dir", str(data), "status").stdout.startswith("open")


@pytest.mark.parametrize("missing", [CA_KEY_FILE, CA_CERT_FILE])
def test_a_registry_whose_ca_file_is_missing_refuses_to_start_naming_it(registry_with_a_grant, missing):
    (registry_with_a_grant / missing).unlink()
    with pytest.raises(CaError, match=f"{missing} is missing; restore it from a backup"):
        open_registry(registry_with_a_grant)
    close_db()
    assert not (registry_with_a_grant / missing).exists()  # no new CA was minted
    one_line_refusal(run_main("admin", "--data-dir", str(registry_with_a_grant), "list"), missing)
    one_line_refusal(run_main("--headless", "--port", "0", "--data-dir", str(registry_with_a_grant)), missing)


def test_a_ca_key_and_certificate_that_do_not_belong_together_are_refused(registry_with_a_grant, tmp_path):
    other = tmp_path / "other"
    open_registry(other)
    close_db()
    shutil.copy(other / CA_CERT_FILE, registry_with_a_grant / CA_CERT_FILE)
    one_line_refusal(run_main("admin", "--data-dir", str(registry_with_a_grant), "list"),
                     CA_CERT_FILE, "does not belong to the key")


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
def test_a_lost_database_beside_its_ca_is_refused_not_started_anew(registry_with_a_grant, damage):
    database = registry_with_a_grant / DATABASE_FILE
    for leftover in registry_with_a_grant.glob(f"{DATABASE_FILE}-*"):
        leftover.unlink()
    database.unlink() if damage == "deleted" else database.write_bytes(b"")
    result = run_main("--headless", "--port", "0", "--data-dir", str(registry_with_a_grant))
    one_line_refusal(result, DATABASE_FILE, "restore a backup")
    assert not database.exists() or database.stat().st_size == 0  # nothing was created in its place


@pytest.mark.parametrize("damage", ["junk header", "cut in half"])
def test_a_damaged_database_is_one_line_and_exit_1(registry_with_a_grant, damage):
    database = registry_with_a_grant / DATABASE_FILE
    for leftover in registry_with_a_grant.glob(f"{DATABASE_FILE}-*"):
        leftover.unlink()
    content = database.read_bytes()
    database.write_bytes(b"this is not SQLite at all" + content[25:] if damage == "junk header"
                         else content[:len(content) // 2])
    for arguments in (("admin", "--data-dir", str(registry_with_a_grant), "list"),
                      ("--headless", "--port", "0", "--data-dir", str(registry_with_a_grant))):
        result = run_main(*arguments)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1, result.stderr


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB file system of its own (tmpfs), so that filling it harms nothing else."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs as root and must mount a tmpfs: {mounted.stderr.strip()}")
        pytest.skip(f"mounting a small tmpfs needs root ({mounted.stderr.strip()}); run the suite as root, as CI does")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as stream:
        try:
            while True:
                stream.write(b"\0" * 65536)
                stream.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_answers_agents_with_a_retry_and_the_admin_with_one_line_losing_nothing(small_disk):
    registry = Registry(small_disk)
    registry.start()
    try:
        client = Client(registry.url, registry.ca_file)
        registry.admin("open")
        agent = {"username": "alice", "password": "alice-pw", "csr": make_csr("alice")[0]}
        assert client.register(agent).status == 202
        filler = fill(small_disk)
        # SQLite writes over its write-ahead log's old frames once the checkpoint chore has
        # copied them into the database file: a newcomer or two may still fit in that space.
        stored = []
        for number in range(20):
            newcomer = client.register({"username": f"newcomer{number}", "password": "newcomer-pw"})
            if newcomer.status != 202:
                break
            stored.append(f"newcomer{number}")
        assert newcomer.status == 503 and "Retry-After" in {k.title() for k in newcomer.headers}, newcomer.body
        assert client.register(agent).status == 202  # a poll needs no space
        refused = registry.admin("grant", "alice", check=False)
        one_line_refusal(refused, "full")
        filler.unlink()
        registry.admin("grant", "alice")
        assert client.register(agent).status == 201
        assert sorted(row["username"] for row in registry.registrations()) == ["alice", *stored]
    finally:
        registry.stop()


def test_a_first_start_on_a_full_disk_is_one_line_and_leaves_no_half_registry(small_disk):
    filler = fill(small_disk)
    data = small_disk / "data"
    one_line_refusal(run_main("--headless", "--port", "0", "--data-dir", str(data)))
    filler.unlink()
    started = Registry(small_disk)
    started.start()  # with room again, the same folder starts as a new registry
    try:
        assert started.admin("ca").stdout.strip()
    finally:
        started.stop()
    wait_until(lambda: started.process.poll() is not None, "the server to stop")
