"""``main.py admin …``: output, exit codes, and the same service underneath."""

from __future__ import annotations

import json

import pytest
from cryptography import x509

from main import main
from tests.helpers import make_csr


def register(client, username="alice", **extra):
    return client.register({"username": username, "password": "s3cret-pw", **extra})


def test_status_open_lock(admin):
    assert admin("status") == (0, "locked\n", "")
    status, out, _ = admin("open", "--duration", "120")
    assert status == 0 and "(120 seconds)" in out
    status, out, _ = admin("status")
    assert (status, out) == (0, "open, 120 seconds left\n")
    assert admin("lock")[:2] == (0, "locked\n")
    assert admin("status")[1] == "locked\n"


def test_open_defaults_to_five_minutes(admin):
    admin("open")
    assert admin("status")[1] == "open, 300 seconds left\n"


def test_list_and_show(admin, service, client):
    service.open("tester")
    csr, _ = make_csr("alice", extra_subject=[x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "Plant 4")])
    register(client, csr=csr, roles=["reader"], context={"host": "press-7"})
    register(client, "bob")
    status, out, _ = admin("list")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["USERNAME", "STATUS", "VIA", "KEY"]
    assert [row.split()[:4] for row in rows] == [["alice", "pending", "API", "EC"], ["bob", "pending", "API", "-"]]

    status, out, _ = admin("list", "--status", "pending", "--json")
    assert [entry["username"] for entry in json.loads(out)] == ["alice", "bob"]

    status, out, _ = admin("show", "alice")
    assert status == 0
    assert "  O = Plant 4" in out and "  CN = alice" in out
    assert service.details("alice").csr.key_fingerprint in out
    assert "will issue:" in out and "CN=alice" in out
    assert "enrolled via:     API" in out

    details = json.loads(admin("show", "alice", "--json")[1])
    assert details["csr"]["subject"] == [{"attribute": "CN", "value": "alice"}, {"attribute": "O", "value": "Plant 4"}]
    assert details["context"] == {"host": "press-7"}
    assert details["enrolledVia"] == "api"
    assert details["willIssue"]["subject"] == "CN=alice"


def test_grant_with_fingerprint_and_sans(admin, service, client):
    service.open("tester")
    csr, _ = make_csr("alice", sans=[x509.DNSName("press-7.plant.local")])
    register(client, csr=csr)
    fingerprint = service.details("alice").csr.key_fingerprint

    assert admin("grant", "alice", "--fingerprint", "ab" * 32)[0] == 1
    status, out, err = admin("grant", "alice", "--fingerprint", fingerprint.upper(), "--sans")
    assert status == 0, err
    assert out.startswith("granted alice: certificate serial ")
    certificate = x509.load_pem_x509_certificate(service.details("alice").certificate_pem.encode())
    assert certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["press-7.plant.local"]


def test_reject_with_reason_then_delete(admin, service, client):
    service.open("tester")
    register(client)
    assert admin("reject", "alice", "--reason", "unknown device") == (0, "rejected alice\n", "")
    assert register(client).json["message"] == "unknown device"
    assert admin("delete", "alice") == (0, "deleted alice\n", "")
    assert service.registrations() == []


@pytest.mark.parametrize("arguments, reason", [
    (("grant", "nobody"), "refused: there is no registration named 'nobody'\n"),
    (("reject", "nobody"), "refused: there is no registration named 'nobody'\n"),
    (("delete", "nobody"), "refused: there is no registration named 'nobody'\n"),
    (("show", "nobody"), "refused: there is no registration named 'nobody'\n"),
    (("open", "--duration", "0"), "refused: the registry can be opened for 1 to 86400 seconds, not 0\n"),
])
def test_refusals_exit_1_with_one_line(admin, arguments, reason):
    assert admin(*arguments) == (1, "", reason)


def test_wrong_state_and_fingerprint_mismatch_exit_1(admin, service, client):
    service.open("tester")
    register(client, csr=make_csr("alice")[0])
    status, _, err = admin("grant", "alice", "--fingerprint", "00:" * 31 + "00")
    assert status == 1 and err.startswith("refused: fingerprint mismatch: expected ")
    assert admin("grant", "alice")[0] == 0
    assert admin("reject", "alice") == (1, "", "refused: alice is granted, not pending\n")


@pytest.mark.parametrize("arguments", [
    ("frobnicate",), ("open", "--duration", "soon"), ("list", "--status", "lost"), ("grant",),
    ("grant", "alice", "--fingerprint", "xyz"),
])
def test_usage_errors_exit_2(admin, arguments):
    assert admin(*arguments)[0] == 2


def test_no_registry_in_the_folder_is_refused_not_created(tmp_path, capsys):
    assert main(["admin", "--data-dir", str(tmp_path / "nowhere"), "status"]) == 1
    assert "there is no registry in" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_ca_prints_fingerprint_or_pem(admin, service):
    assert admin("ca") == (0, service.ca.fingerprint + "\n", "")
    assert admin("ca", "--pem")[1] == service.ca.certificate_pem


def test_log_lists_who_did_what_oldest_first(admin, service, client):
    admin("open")
    register(client)
    admin("grant", "alice")
    status, out, _ = admin("log")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert [line.split()[2] for line in lines] == ["open", "request", "grant"]
    entries = json.loads(admin("log", "--json")[1])
    assert [(e["action"], e["username"]) for e in entries] == [("open", None), ("request", "alice"), ("grant", "alice")]
    assert entries[2]["actor"].endswith("(cli)")


def test_network_text_cannot_drive_the_terminal(admin, service, client):
    service.open("tester")
    assert register(client, context={"note": "\x1b[2J\u202eevil\x07"}).status == 202
    out = admin("show", "alice")[1]
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\u001b[2J\\u202eevil\\u0007" in out
