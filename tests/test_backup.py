"""``admin backup`` and ``admin restore``: one encrypted file, taken while agents poll, restored whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from tests.helpers import Client, key_pem, make_csr
from tests.processes import ROOT, Registry

PASSPHRASE = "correct horse battery staple"


def admin(data_dir, *arguments: str, passphrase: str | None = PASSPHRASE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CLIENT_REGISTRY_BACKUP_PASSPHRASE"}
    if passphrase is not None:
        env["CLIENT_REGISTRY_BACKUP_PASSPHRASE"] = passphrase
    return subprocess.run([sys.executable, "main.py", "admin", "--data-dir", str(data_dir), *arguments],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """A registry with a certificate client, a password client and a revoked one, backed up
    while a poller keeps the server busy; the server, the backup file and alice's key."""
    folder = tmp_path_factory.mktemp("source")
    registry = Registry(folder)
    registry.start()
    client = Client(registry.url, registry.ca_file)
    registry.admin("open")
    alice_csr, alice_key = make_csr("alice")
    agents = {"alice": {"username": "alice", "password": "alice-pw", "csr": alice_csr},
              "bob": {"username": "bob", "password": "bob-pw-123"},
              "carol": {"username": "carol", "password": "carol-pw", "csr": make_csr("carol")[0]}}
    for agent in agents.values():
        assert client.register(agent).status == 202
    for name in agents:
        registry.admin("grant", name)
    registry.admin("revoke", "carol", "--reason", "keyCompromise")
    certificate = client.register(agents["alice"]).json["certificate"]
    stop, polls = threading.Event(), []

    def poll():
        while not stop.is_set():
            polls.append(client.register(agents["bob"]).status)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        backup_file = folder / "registry.backup"
        made = admin(registry.data_dir, "backup", str(backup_file))
    finally:
        stop.set()
        poller.join()
    assert made.returncode == 0, made.stderr
    assert polls and set(polls) == {201}, "the agents were served throughout"
    yield registry, backup_file, agents, certificate, alice_key
    registry.stop()


def test_the_backup_is_owner_only_and_holds_no_key_in_the_clear(backed_up):
    registry, backup_file, *_ = backed_up
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"
    content = backup_file.read_bytes()
    assert b"PRIVATE KEY" not in content and b"SQLite format" not in content
    assert (registry.data_dir / "ca.key").read_bytes() not in content


def test_a_restored_registry_is_the_same_registry(backed_up, tmp_path):
    registry, backup_file, agents, certificate, alice_key = backed_up
    restored = Registry(tmp_path)
    done = admin(restored.data_dir, "restore", str(backup_file))
    assert done.returncode == 0, done.stderr
    assert restored.admin("ca").stdout == registry.admin("ca").stdout  # the same CA
    def without_polls(rows):  # the source's agents kept polling after the backup
        return [{key: value for key, value in row.items() if key != "lastPollAt"} for row in rows]

    assert without_polls(restored.registrations()) == without_polls(registry.registrations())
    assert [line for line in restored.admin("certificates").stdout.splitlines()] == \
        registry.admin("certificates").stdout.splitlines()
    source_log = json.loads(registry.admin("log", "--json").stdout)
    restored_log = json.loads(restored.admin("log", "--json").stdout)
    assert restored_log[:len(source_log)] == source_log
    assert [entry["action"] for entry in restored_log[len(source_log):]] == ["restore"]
    restored.start()
    try:
        key_file, cert_file = tmp_path / "alice.key", tmp_path / "alice.crt"
        key_file.write_bytes(key_pem(alice_key))
        cert_file.write_text(certificate)
        mtls = Client(restored.url, restored.ca_file, cert=(cert_file, key_file))
        assert mtls.request("GET", "/api/auth/whoami").json["authenticatedBy"] == "certificate"
        assert Client(restored.url, restored.ca_file).register(agents["bob"]).status == 201  # bob's password
        crl = tmp_path / "crl.pem"
        crl.write_text(restored.admin("crl").stdout)
        carol = subprocess.run(["openssl", "crl", "-in", str(crl), "-noout", "-text"], capture_output=True,
                               text=True, timeout=30).stdout
        assert "Key Compromise" in carol
    finally:
        restored.stop()


@pytest.mark.parametrize("damage", ["wrong passphrase", "a flipped byte", "a cut file"])
def test_a_backup_that_does_not_open_writes_nothing(backed_up, tmp_path, damage):
    _, backup_file, *_ = backed_up
    source, passphrase = backup_file, PASSPHRASE
    if damage == "wrong passphrase":
        passphrase = "not the passphrase at all"
    else:
        content = bytearray(backup_file.read_bytes())
        if damage == "a flipped byte":
            content[len(content) // 2] ^= 0x01
        else:
            del content[len(content) // 2:]
        source = tmp_path / "damaged.backup"
        source.write_bytes(bytes(content))
    target = tmp_path / "target"
    result = admin(target, "restore", str(source), passphrase=passphrase)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "wrong passphrase, or the file was changed" in result.stderr
    assert not target.exists() or not any(target.iterdir())


def test_a_folder_that_holds_anything_is_not_restored_into(backed_up):
    registry, backup_file, *_ = backed_up
    before = sorted(path.name for path in registry.data_dir.iterdir())
    result = admin(registry.data_dir, "restore", str(backup_file))
    assert result.returncode == 1 and "is not empty" in result.stderr
    assert sorted(path.name for path in registry.data_dir.iterdir()) == before


def test_without_a_passphrase_nothing_is_written(backed_up, tmp_path):
    registry, *_ = backed_up
    result = admin(registry.data_dir, "backup", str(tmp_path / "x.backup"), passphrase=None)
    assert result.returncode == 1 and "no passphrase" in result.stderr
    assert not (tmp_path / "x.backup").exists()
