"""Folders and files another local user prepared are refused, never used (issue 13, severe 3),
and the database is owner-only like the CA key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from main import main
from server.ca import CA_CERT_FILE, CA_KEY_FILE, CaError
from storage import DATABASE_FILE, close_db, db
from tests.helpers import key_pem
from tests.processes import ROOT
from wiring import open_registry, start_server

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")
as_root = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to give a folder away")
NOBODY = 65534


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def headless(data_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "--headless", "--port", "0", "--data-dir", str(data_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@posix_only
@pytest.mark.parametrize("folder_mode", [0o777, 0o770, 0o702])
def test_a_data_folder_others_may_write_is_refused_with_one_line(tmp_path, folder_mode):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(folder_mode)
    done = headless(data_dir)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "written by group or others" in done.stderr
    assert not (data_dir / CA_KEY_FILE).exists()


@as_root
def test_a_data_folder_of_another_user_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chown(data_dir, NOBODY, NOBODY)
    done = headless(data_dir)
    assert done.returncode == 1
    assert "belongs to another user" in done.stderr and "Traceback" not in done.stderr
    assert not (data_dir / CA_KEY_FILE).exists()


@posix_only
def test_the_admin_command_line_refuses_such_a_folder_too(tmp_path):
    data_dir = tmp_path / "data"
    open_registry(data_dir)
    close_db()
    data_dir.chmod(0o777)
    assert main(["admin", "--data-dir", str(data_dir), "status"]) == 1


@posix_only
def test_a_planted_link_at_the_ca_keys_temporary_or_final_name_is_never_followed(tmp_path):
    data_dir, victim = tmp_path / "data", tmp_path / "attackers-file"
    data_dir.mkdir(mode=0o700)
    victim.write_bytes(b"")
    (data_dir / f"{CA_KEY_FILE}.tmp").symlink_to(victim)
    open_registry(data_dir)
    close_db()
    assert victim.read_bytes() == b""
    assert not (data_dir / CA_KEY_FILE).is_symlink() and mode(data_dir / CA_KEY_FILE) == 0o600
    # A key swapped for a link afterwards is refused, not read through it.
    victim.write_bytes((data_dir / CA_KEY_FILE).read_bytes())
    (data_dir / CA_KEY_FILE).unlink()
    (data_dir / CA_KEY_FILE).symlink_to(victim)
    with pytest.raises(CaError, match="symbolic link"):
        open_registry(data_dir)
    close_db()


@posix_only
def test_the_database_and_its_wal_and_shm_are_owner_only(tmp_path):
    data_dir = tmp_path / "data"
    service = open_registry(data_dir)
    service.open("test")
    db.connect(reuse_if_open=True)
    db.execute_sql("SELECT count(*) FROM sqlite_master")  # an open connection: -wal and -shm exist
    names = [DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm"]
    assert {name: mode(data_dir / name) for name in names} == {name: 0o600 for name in names}
    close_db()  # the last connection closed: SQLite removes -wal and -shm
    (data_dir / DATABASE_FILE).chmod(0o644)  # as an earlier release left it
    open_registry(data_dir)
    close_db()
    assert mode(data_dir / DATABASE_FILE) == 0o600


@pytest.fixture
def enroll(tmp_path, service):
    """``main.py enroll`` into tmp_path/out, trusting the registry's CA file; never reaches a server."""
    out = tmp_path / "out"
    out.mkdir(mode=0o700)

    def run(*extra: str) -> int:
        return main(["enroll", "--url", "https://127.0.0.1:9", "--username", "device1", "--timeout", "1",
                     "--ca-file", str(tmp_path / "data" / CA_CERT_FILE), "--out", str(out), *extra])

    return out, run


@posix_only
def test_enroll_never_changes_the_mode_of_a_planted_key_links_target(tmp_path, enroll, capsys):
    out, run = enroll
    target = tmp_path / "attackers.key"
    target.write_bytes(key_pem(ec.generate_private_key(ec.SECP256R1())))
    target.chmod(0o644)
    (out / "device1.key").symlink_to(target)
    assert run() == 1
    assert mode(target) == 0o644
    assert "symbolic link" in capsys.readouterr().err


@posix_only
@pytest.mark.parametrize("name", ["device1.key", "device1.password"])
def test_enroll_refuses_a_stored_secret_others_may_read_or_write(enroll, capsys, name):
    out, run = enroll
    content = key_pem(ec.generate_private_key(ec.SECP256R1())) if name.endswith(".key") else b"attackers-pw\n"
    (out / name).write_bytes(content)
    (out / name).chmod(0o646)
    assert run() == 1
    assert "may be read or written by others" in capsys.readouterr().err


@as_root
def test_enroll_refuses_a_stored_password_of_another_user(enroll, capsys):
    out, run = enroll
    (out / "device1.password").write_bytes(b"attackers-pw\n")
    (out / "device1.password").chmod(0o600)
    os.chown(out / "device1.password", NOBODY, NOBODY)
    assert run() == 1
    assert "belongs to another user" in capsys.readouterr().err


@posix_only
def test_enroll_refuses_an_out_folder_others_may_write(enroll, capsys):
    out, run = enroll
    out.chmod(0o777)
    assert run() == 1
    assert "written by group or others" in capsys.readouterr().err
    assert not (out / "device1.key").exists()


@posix_only
def test_every_file_a_serving_registry_writes_in_its_folder_is_owner_only(tmp_path):
    data_dir = tmp_path / "data"
    running = start_server(open_registry(data_dir), data_dir, "127.0.0.1", 0)
    try:
        written = {path.name: mode(path) for path in data_dir.iterdir() if path.is_file()}
    finally:
        running.stop()
        close_db()
    assert {"ca.key", "ca.crt", "crl.pem", DATABASE_FILE} <= set(written)
    assert {name: 0o600 for name in written} == written
