"""The review dialog itself, with real widgets over a request that came in over HTTPS."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from PySide6.QtCore import Qt

from gui.review_dialog import GRANT, REJECT, ReviewDialog
from server.csr import SubjectAltName
from server.validation import Permission
from tests.gui.agents import dns, document, register

SUBJECT = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Stamping"),
           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Line 3")]


@pytest.fixture
def pending(service, client):
    """A pending request with a CSR (subject O and OU, two SANs) and its 202 reply."""
    service.open("tester")
    body = document("press3", roles=("operator", "maintainer"), extra_subject=SUBJECT,
                    sans=[dns("press3.plant.local"), dns("press3.example")], context={"site": "Hall B"})
    reply = register(client, body)
    return service.details("press3"), reply


@pytest.fixture
def dialog(qtbot, pending):
    details, _ = pending
    review = ReviewDialog(details)
    qtbot.addWidget(review)
    review.show()
    return review


def checked(list_widget) -> list[bool]:
    return [list_widget.item(row).checkState() == Qt.CheckState.Checked for row in range(list_widget.count())]


def test_it_shows_the_csr_subject_attribute_by_attribute_and_the_key_fingerprint(dialog, pending):
    _, reply = pending
    assert [(name, label.text()) for name, label in dialog.subject_labels] == [
        ("CN", "press3"), ("O", "Acme Stamping"), ("OU", "Line 3")]
    assert dialog.fingerprint_label.text().replace(" ", "") == reply.json["fingerprint"]
    texts = {label.text() for label in dialog.findChildren(type(dialog.fingerprint_label))}
    assert {"EC P-256", "ecdsa-with-SHA256", "CN=press3"} <= texts


def test_roles_and_permissions_start_ticked_and_sans_unticked(dialog):
    assert checked(dialog.role_list) == [True, True]
    assert checked(dialog.permission_list) == [True, True]
    assert [dialog.san_list.item(row).text() for row in range(dialog.san_list.count())] == [
        "DNS:press3.plant.local", "DNS:press3.example"]
    assert checked(dialog.san_list) == [False, False]
    assert dialog.plan_group.sans_label.text() == "none"


def test_grant_returns_only_what_stays_ticked_and_the_plan_follows_the_ticks(dialog, pending):
    details, reply = pending
    dialog.role_list.item(1).setCheckState(Qt.CheckState.Unchecked)
    dialog.permission_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog.san_list.item(1).setCheckState(Qt.CheckState.Checked)
    assert dialog.plan_group.roles_label.text() == "operator"
    assert dialog.plan_group.sans_label.text() == "DNS:press3.example"
    dialog.grant_button.click()
    assert dialog.decision.action == GRANT
    assert dialog.decision.roles == ("operator",)
    assert dialog.decision.permissions == (Permission("plant/line1/cmd", "write", "mqtt"),)
    assert dialog.decision.sans == (SubjectAltName("DNS", "press3.example"),)
    assert dialog.decision.expected_fingerprint == reply.json["fingerprint"]
    assert dialog.decision.reviewed == details.reviewed  # the request shown, by id and digest


def test_reject_carries_the_reason_and_cancel_decides_nothing(qtbot, dialog, pending):
    dialog.reason_edit.setText("  unknown device ")
    dialog.reject_button.click()
    assert (dialog.decision.action, dialog.decision.reason) == (REJECT, "unknown device")
    details, _ = pending
    assert dialog.decision.reviewed == details.reviewed
    cancelled = ReviewDialog(details)
    qtbot.addWidget(cancelled)
    cancelled.cancel_button.click()
    assert cancelled.decision is None


def test_what_to_look_at_twice_is_shown_above_everything(dialog, pending):
    details, _ = pending
    assert details.warnings  # plant/line1/# reaches every topic below it
    assert dialog.warnings_notice.isVisible()
    assert dialog.warnings_notice.text().splitlines() == [f"⚠ {warning}" for warning in details.warnings]
    assert "wildcard" in dialog.warnings_notice.text()


def test_a_decided_registration_is_shown_without_grant_or_reject(qtbot, service, pending):
    service.grant("press3", "tester", roles=["operator"])
    details = service.details("press3")
    shown = ReviewDialog(details)
    qtbot.addWidget(shown)
    shown.show()
    assert not shown.grant_button.isVisible() and not shown.reject_button.isVisible()
    assert shown.cancel_button.text() == "Close"
    texts = {label.text() for label in shown.findChildren(type(shown.fingerprint_label))}
    assert details.certificate_serial in texts
    assert "operator" in texts
    assert not shown.warnings_notice.isVisible()  # nothing left to decide
    history = shown.history_table.model()
    assert (history.rowCount(), history.index(0, 0).data(), history.index(0, 3).data()) == (
        1, "current", details.certificate_serial)


def test_a_request_without_csr_offers_no_certificate_and_compares_no_fingerprint(qtbot, service, client):
    service.open("tester")
    register(client, document("scanner2", csr=False))
    dialog = ReviewDialog(service.details("scanner2"))
    qtbot.addWidget(dialog)
    assert dialog.fingerprint_label is None and dialog.san_list is None and dialog.subject_labels == []
    texts = {label.text() for label in dialog.findChildren(type(dialog.plan_group.roles_label))}
    assert "none (no CSR)" in texts
    dialog.grant_button.click()
    assert dialog.decision.expected_fingerprint is None and dialog.decision.sans == ()
