"""A data folder written by the previous release is upgraded in place, nothing lost.

The previous release is taken from this repository's own history and run for
real (its server and its admin CLI as processes) to build the folder; then
this release opens it.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import tarfile

import pytest
from cryptography import x509

from storage import close_db
from storage.migrations import SCHEMA_VERSION, SchemaTooNew
from tests.helpers import Client, make_csr
from tests.processes import ROOT, Registry
from wiring import open_registry

# The last commit of release 1: certificates lived in the registration row,
# and the schema had no version.
RELEASE_1 = "c90b43e"


@pytest.fixture(scope="module")
def release_1(tmp_path_factory):
    tree = tmp_path_factory.mktemp("release-1")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", RELEASE_1],
                             capture_output=True, timeout=60)
    if archive.returncode != 0:
        pytest.skip(f"release 1 ({RELEASE_1}) is not in this clone's history: {archive.stderr.decode().strip()}; "
                    "fetch the full history (git fetch --unshallow) to run the upgrade test")
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(tree, filter="data")
    return tree


def test_a_release_1_folder_keeps_every_grant_request_certificate_and_audit_entry(release_1, tmp_path):
    old = Registry(tmp_path, root=release_1)
    old.start()
    try:
        client = Client(old.url, old.ca_file)
        old.admin("open")
        keys, certificates = {}, {}
        for name in ("alice", "bob", "carol", "dave", "erin"):
            csr, keys[name] = make_csr(name)
            assert client.register({"username": name, "password": f"{name}-pw", "csr": csr}).status == 202
        old.admin("grant", "alice")
        old.admin("grant", "bob")
        old.admin("reject", "carol", "--reason", "not ours")
        old.admin("delete", "bob")
        for name in ("alice",):
            certificates[name] = client.register(
                {"username": name, "password": f"{name}-pw", "csr": make_csr(name, keys[name])[0]}).json
    finally:
        old.stop()
    before = sqlite3.connect(old.data_dir / "registry.sqlite3")
    audit_before = before.execute("SELECT at, actor, action, username, detail FROM audit_entry ORDER BY id").fetchall()
    ids_before = dict(before.execute("SELECT username, id FROM registration").fetchall())
    before.close()
    ca_before = old.ca_file.read_bytes()

    service = open_registry(old.data_dir)
    try:
        rows = {row.username: row for row in service.registrations()}
        assert {name: row.status for name, row in rows.items()} == {
            "alice": "granted", "carol": "rejected", "dave": "pending", "erin": "pending"}
        assert {name: row.id for name, row in rows.items()} == ids_before
        assert {row.enrolled_via for row in rows.values()} == {"api"}  # all came through the JSON API
        alice_pem = certificates["alice"]["certificate"]
        alice = service.details("alice")
        assert alice.certificate_pem == alice_pem
        assert alice.certificate_serial == format(x509.load_pem_x509_certificate(alice_pem.encode()).serial_number, "x")
        assert service.details("carol").reject_reason == "not ours"
        assert [(e.at, e.actor, e.action, e.username, e.detail) for e in reversed(service.audit_log())] == audit_before
        assert old.ca_file.read_bytes() == ca_before
        # New ids go past every id the old release handed out, even bob's deleted one.
        service.open("tester")
        from server.validation import parse_registration
        service.register(parse_registration(b'{"username": "frank", "password": "frank-pw"}'), "10.0.0.9")
        assert service.details("frank") and max(row.id for row in service.registrations()) > max(ids_before.values())
        assert [view.serial for view in service.certificates("alice")] == [alice.certificate_serial]
        # The upgraded registry serves the old grant as before, and can revoke it.
        service.revoke("alice", "tester", "superseded")
        assert format(next(iter(x509.load_der_x509_crl(service.crl().der))).serial_number, "x") == \
            alice.certificate_serial
    finally:
        close_db()
    upgraded = sqlite3.connect(old.data_dir / "registry.sqlite3")
    assert upgraded.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert upgraded.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    upgraded.close()


def test_an_upgraded_database_has_exactly_the_schema_of_a_new_one(release_1, tmp_path):
    (tmp_path / "old").mkdir()
    old = Registry(tmp_path / "old", root=release_1)
    old.start()
    old.stop()
    open_registry(old.data_dir)
    close_db()
    open_registry(tmp_path / "new")
    close_db()

    def schema(folder) -> dict:
        database = sqlite3.connect(folder / "registry.sqlite3")
        try:
            tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {table: sorted((row[1], row[2], row[3], row[5])
                                  for row in database.execute(f"PRAGMA table_info({table})"))
                    for table in tables} | {"indexes": sorted(
                        row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        finally:
            database.close()

    assert schema(old.data_dir) == schema(tmp_path / "new")


def test_a_database_from_a_newer_release_is_refused_with_one_line(tmp_path, capsys):
    open_registry(tmp_path / "data")
    close_db()
    database = sqlite3.connect(tmp_path / "data" / "registry.sqlite3")
    database.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    database.commit()
    database.close()
    with pytest.raises(SchemaTooNew, match="written by a newer release"):
        open_registry(tmp_path / "data")
    close_db()
    from main import main

    assert main(["admin", "--data-dir", str(tmp_path / "data"), "status"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "newer release" in error
