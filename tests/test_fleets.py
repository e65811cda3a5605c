"""Fleets over real HTTPS: pairing codes, pre-authorised devices, bulk grant and reject."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from common.fingerprints import key_fingerprint
from server import granting
from server.lifecycle import CertificateLifecycle
from server.outcomes import Refused
from storage import outbox
from tests.helpers import make_csr, make_key
from tests.postgres import both_databases

pytestmark = both_databases

CODE = re.compile(r"[34679ACEFGHKMNPRTWXY]{4}-[34679ACEFGHKMNPRTWXY]{4}")


def request(username, key=None, **extra) -> dict:
    csr, _ = make_csr(username, key)
    return {"username": username, "password": f"{username}-password", "csr": csr, **extra}


def test_a_pairing_code_is_stable_across_polls_and_differs_per_request(admin, service, client):
    service.open("tester")
    alice = request("alice")
    first = client.register(alice)
    assert first.status == 202 and CODE.fullmatch(first.json["pairingCode"])
    assert client.register(alice).json["pairingCode"] == first.json["pairingCode"]
    bob = client.register(request("bob")).json["pairingCode"]
    assert CODE.fullmatch(bob) and bob != first.json["pairingCode"]

    status, out, _ = admin("list")
    assert status == 0 and out.splitlines()[0].split()[4] == "PAIRING"
    assert [line.split()[5] for line in out.splitlines()[1:]] == [first.json["pairingCode"], bob]
    assert f"pairing code:     {bob}" in admin("show", "bob")[1]
    assert json.loads(admin("show", "alice", "--json")[1])["pairingCode"] == first.json["pairingCode"]
    # An impostor who takes the name after the real request is deleted gets a code of its own.
    service.delete("alice", "tester")
    assert client.register(request("alice")).json["pairingCode"] != first.json["pairingCode"]


def test_a_preauthorised_device_is_granted_on_its_first_request_while_locked(admin, service, client, tmp_path):
    key = make_key()
    status, out, _ = admin("preauthorize", "alice", "--fingerprint", key_fingerprint(key.public_key()),
                           "--role", "reader", "--permission", "mqtt:read:plant/line3/#", "--expires", "48")
    assert (status, out) == (0, "pre-authorised alice\n")
    assert not service.status().is_open
    wanted = [{"resource": "plant/line3/#", "operation": "read", "context": "mqtt"},
              {"resource": "plant/line3/#", "operation": "write", "context": "mqtt"}]
    reply = client.register(request("alice", key, roles=["reader", "admin"], permissions=wanted))
    assert reply.status == 201
    # The requested roles and permissions that the pre-authorisation allows, and no more.
    assert (reply.json["roles"], reply.json["permissions"]) == (["reader"], wanted[:1])
    certificate = tmp_path / "alice.crt"
    certificate.write_text(reply.json["certificate"])
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "data" / "ca.crt"), str(certificate)],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    # Polls get the same certificate; the pre-authorisation is used up.
    again = client.register(request("alice", key, roles=["reader", "admin"], permissions=wanted))
    assert again.status == 201 and again.json["certificate"] == reply.json["certificate"]
    [listed] = json.loads(admin("preauthorized", "--json")[1])
    assert (listed["username"], listed["state"]) == ("alice", "used") and listed["usedAt"]
    actions = [(entry.action, entry.actor) for entry in reversed(service.audit_log())]
    assert actions[0][0] == "preauthorize"
    assert ("grant", f"pre-authorisation by {listed['createdBy']}") in actions
    service.delete("alice", "tester")
    assert client.register(request("alice", key)).status == 423  # used once, never again


def test_another_key_for_a_preauthorised_name_is_never_granted_and_its_review_warns(admin, service, client):
    expected = make_key()
    assert admin("preauthorize", "alice", "--fingerprint", key_fingerprint(expected.public_key()))[0] == 0
    impostor = request("alice")
    assert client.register(impostor).status == 423  # locked: the ordinary rules
    service.open("tester")
    assert client.register(impostor).status == 202
    details = service.details("alice")
    assert details.status == "pending"
    assert any("differs from the pre-authorised one" in warning for warning in details.warnings)
    assert "warning:          the key differs from the pre-authorised one" in admin("show", "alice")[1]
    assert json.loads(admin("preauthorized", "--json")[1])[0]["state"] == "unused"


def test_a_csv_list_is_imported_line_by_line_and_a_bad_one_not_at_all(admin, service, client, tmp_path):
    keys = {name: make_key() for name in ("press1", "press2", "press3")}
    good = tmp_path / "good.csv"
    good.write_text("username,fingerprint,roles,permissions\n"
                    f"press1,{key_fingerprint(keys['press1'].public_key())},reader;writer,mqtt:read:plant/#\n"
                    f"press2,{key_fingerprint(keys['press2'].public_key()).upper()},,\n")
    status, out, err = admin("preauthorize", "--import", str(good))
    assert (status, out, err) == (0, "line 2: pre-authorised press1\nline 3: pre-authorised press2\n", "")
    listed = json.loads(admin("preauthorized", "--json")[1])
    assert [(row["username"], row["roles"], len(row["permissions"])) for row in listed] == [
        ("press1", ["reader", "writer"], 1), ("press2", [], 0)]

    bad = tmp_path / "bad.csv"
    bad.write_text("username,fingerprint,roles,permissions\n"
                   f"press3,{key_fingerprint(keys['press3'].public_key())},,\n"
                   "press4,not-hex,,\n"
                   f"press5,{'ab' * 32},,mqtt:sometimes:x\n")
    status, out, err = admin("preauthorize", "--import", str(bad))
    assert status == 1 and out == ""
    assert "2 bad lines, nothing imported" in err and "line 3:" in err and "line 4:" in err
    assert "line 2" not in err
    assert [row["username"] for row in json.loads(admin("preauthorized", "--json")[1])] == ["press1", "press2"]
    assert client.register(request("press3", keys["press3"])).status == 423  # not imported
    assert client.register(request("press2", keys["press2"])).status == 201


def test_an_expired_or_removed_preauthorisation_grants_nothing(admin, service, client, clock):
    keys = {name: make_key() for name in ("alice", "bob")}
    for name, key in keys.items():
        admin("preauthorize", name, "--fingerprint", key_fingerprint(key.public_key()), "--expires", "1")
    clock.advance(3601)
    assert client.register(request("alice", keys["alice"])).status == 423
    # The fake clock is the server's (the CLI in this process reads the real one).
    assert [(view.username, view.state) for view in service.preauthorizations()] == [
        ("alice", "expired"), ("bob", "expired")]
    assert admin("unpreauthorize", "bob") == (0, "removed the pre-authorisation of bob\n", "")
    assert admin("unpreauthorize", "bob") == (1, "", "refused: there is no pre-authorisation for 'bob'\n")
    admin("preauthorize", "bob", "--fingerprint", key_fingerprint(keys["bob"].public_key()))
    admin("unpreauthorize", "bob")
    assert client.register(request("bob", keys["bob"])).status == 423
    assert [e.action for e in service.audit_log() if e.username == "bob"][:2] == ["unpreauthorize", "preauthorize"]


def test_bulk_grant_and_reject_report_each_name_and_exit_1_when_any_was_refused(admin, service, client):
    service.open("tester")
    for name in ("dev_a1", "dev_a2", "dev_a3", "dev_a4"):
        assert client.register(request(name)).status == 202
    status, out, err = admin("grant", "dev_a1", "dev_a2", "nobody")
    assert status == 1
    assert [line.split(":")[0] for line in out.splitlines()] == ["granted dev_a1", "granted dev_a2"]
    assert err == "refused: there is no registration named 'nobody'\n"
    assert admin("reject", "dev_a3", "dev_a4", "--reason", "not ours") == (0, "rejected dev_a3\nrejected dev_a4\n", "")
    assert admin("reject", "dev_a1", "dev_a4") == (
        1, "", "refused: dev_a1 is granted, not pending\nrefused: dev_a4 is rejected, not pending\n")
    assert client.register(request("dev_a3")).json["message"] == "not ours"

    for name in ("dev_b1", "dev_b2"):
        client.register(request(name))
    status, out, err = admin("grant", "--all-pending")
    assert (status, err) == (0, "") and [line.split(":")[0] for line in out.splitlines()] == ["granted dev_b1", "granted dev_b2"]
    assert admin("grant", "--all-pending") == (0, "no pending requests\n", "")
    assert admin("grant", "dev_a1", "--all-pending")[0] == 2
    assert admin("grant", "dev_b1", "dev_b2", "--sans")[0] == 2
    assert {row.username: row.status for row in service.registrations()} == {
        "dev_a1": "granted", "dev_a2": "granted", "dev_a3": "rejected", "dev_a4": "rejected", "dev_b1": "granted", "dev_b2": "granted"}


def test_the_core_decides_many_with_one_result_per_name(service, client):
    service.open("tester")
    client.register(request("dev_c1"))
    decisions = service.grant_many(["dev_c1", "dev_c1", "ghost"], "tester")
    assert [(d.username, d.done) for d in decisions] == [("dev_c1", True), ("dev_c1", False), ("ghost", False)]
    assert decisions[0].certificate_serial == service.details("dev_c1").certificate_serial
    assert decisions[1].refusal == "dev_c1 is granted, not pending"


def test_a_bulk_grant_refuses_only_what_was_decided_or_deleted_after_its_check(service, client, clock, monkeypatch):
    """Certificates are signed before the write lock is taken, and a batch is written in one
    transaction: another administrator's decision in between refuses that name alone."""
    service.open("tester")
    names = ["dev_d1", "dev_d2", "dev_d3", "dev_d4", "dev_d5"]
    for name in names:
        assert client.register(request(name)).status == 202
    meanwhile = {"dev_d2": lambda: service.reject("dev_d2", "other admin"),
                 "dev_d3": lambda: service.delete("dev_d3", "other admin")}
    sign = CertificateLifecycle.sign

    def sign_while_another_admin_acts(lifecycle, csr, plan):
        meanwhile.pop(plan.common_name, lambda: None)()
        return sign(lifecycle, csr, plan)

    monkeypatch.setattr(CertificateLifecycle, "sign", sign_while_another_admin_acts)
    monkeypatch.setattr(granting, "GRANTS_PER_TRANSACTION", 3)  # two batches: dev_d1–d3, dev_d4–d5
    decisions = service.grant_many(names, "tester")

    assert [(d.username, d.refusal) for d in decisions] == [
        ("dev_d1", None), ("dev_d2", "dev_d2 was decided or deleted meanwhile"),
        ("dev_d3", "dev_d3 was decided or deleted meanwhile"), ("dev_d4", None), ("dev_d5", None)]
    granted = ["dev_d1", "dev_d4", "dev_d5"]
    assert {row.username: row.status for row in service.registrations()} == {
        "dev_d1": "granted", "dev_d2": "rejected", "dev_d4": "granted", "dev_d5": "granted"}
    assert sorted(view.username for view in service.certificates()) == granted
    for decision in decisions:
        if decision.done:
            assert service.details(decision.username).certificate_serial == decision.certificate_serial
    assert sorted(e.username for e in service.audit_log() if e.action == "grant") == granted
    events = outbox.due(clock(), 1000)
    assert sorted(e.username for e in events if e.event == "granted") == granted
    assert [e.username for e in events if e.event == "rejected"] == ["dev_d2"]


def test_a_single_grant_takes_the_same_path_and_is_refused_when_decided_meanwhile(service, client, monkeypatch):
    service.open("tester")
    assert client.register(request("dev_e1")).status == 202
    sign = CertificateLifecycle.sign

    def sign_while_another_admin_rejects(lifecycle, csr, plan):
        service.reject("dev_e1", "other admin")
        return sign(lifecycle, csr, plan)

    monkeypatch.setattr(CertificateLifecycle, "sign", sign_while_another_admin_rejects)
    with pytest.raises(Refused, match="^dev_e1 was decided or deleted meanwhile$"):
        service.grant("dev_e1", "tester")
    assert service.details("dev_e1").status == "rejected" and service.certificates() == []
    assert [e.action for e in service.audit_log() if e.username == "dev_e1"][0] == "reject"
