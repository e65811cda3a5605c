"""Text from the network is shown literally: tags stay tags, control and bidi
characters are made visible, ``&`` is no keyboard mnemonic.

Each field carries the payload as far as the protocol lets it (roles and
resources must be printable, so the right-to-left override goes into the
context, the CSR subject and the reject reason).
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QPlainTextEdit

from gui.registrations_model import ROLES, USERNAME
from gui.review_dialog import ReviewDialog
from tests.gui.agents import document, register

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "evil\u202etxt.exe" reads as "evilexe.txt"
TAGS = "<b>bold</b><img src=x>"
PAYLOAD = f"{TAGS}&{RLO}gnp.exe"
VISIBLE_PAYLOAD = f"{TAGS}&\\u202egnp.exe"


@pytest.fixture
def hostile(service, client):
    service.open("tester")
    body = document(
        "hostile1",
        roles=(TAGS, "R&D"),
        permissions=[{"resource": f"plant/{TAGS}", "operation": "read", "context": "mqtt"}],
        context={"host": PAYLOAD, "note": f"line1\nline2{RLO}"},
        extra_subject=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, PAYLOAD),
                       x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TAGS)],
        sans=[x509.DNSName("<b>x</b>.example"), x509.UniformResourceIdentifier("urn:<img src=x>")],
    )
    register(client, body)
    return service.details("hostile1")


def all_texts(widget) -> list[str]:
    texts = [label.text() for label in widget.findChildren(QLabel)]
    texts += [edit.toPlainText() for edit in widget.findChildren(QPlainTextEdit)]
    for list_widget in widget.findChildren(QListWidget):
        texts += [list_widget.item(row).text() for row in range(list_widget.count())]
    return texts


def test_the_review_dialog_shows_every_field_literally(qtbot, hostile):
    dialog = ReviewDialog(hostile)
    qtbot.addWidget(dialog)
    dialog.show()

    labels = dialog.findChildren(QLabel)
    assert labels and all(label.textFormat() == Qt.TextFormat.PlainText for label in labels)
    texts = all_texts(dialog)
    assert not any(RLO in text for text in texts)
    assert dict((name, label.text()) for name, label in dialog.subject_labels) == {
        "CN": "hostile1", "O": VISIBLE_PAYLOAD, "OU": TAGS}
    assert [dialog.role_list.item(row).text() for row in range(2)] == [TAGS, "R&D"]
    assert dialog.permission_list.item(0).text() == f"mqtt · read · plant/{TAGS}"
    # Not valid names of their kinds, so never offered for issuing: shown for the record, literally.
    assert dialog.san_list.count() == 0
    assert any("<b>x</b>.example" in text for text in texts) and any("urn:<img src=x>" in text for text in texts)
    context = dialog.findChildren(QPlainTextEdit)[0].toPlainText()
    assert f'"host": "{VISIBLE_PAYLOAD}"' in context
    assert '"note": "line1\\nline2\\u202e"' in context
    assert dialog.plan_group.roles_label.text() == f"{TAGS}, R&D"


def test_the_table_and_the_audit_view_show_network_text_literally(qtbot, monkeypatch, window, hostile):
    qtbot.waitUntil(lambda: window.registrations.rowCount() == 1)
    assert window.registrations.index(0, USERNAME).data() == "hostile1"
    assert window.registrations.index(0, ROLES).data() == f"{TAGS}, R&D"

    def reject(dialog):
        dialog.reason_edit.setText(PAYLOAD)
        dialog.reject_button.click()

    monkeypatch.setattr(ReviewDialog, "ask", staticmethod(lambda parent, details, registrations=None: (
        reject(dialog := ReviewDialog(details, parent, registrations)), dialog.decision)[1]))
    window.registrations_tab.select_username("hostile1")
    window.registrations_tab.review_action.trigger()
    qtbot.waitUntil(lambda: window.audit.rowCount() > 0 and window.audit.index(0, 2).data() == "reject")
    assert window.audit.index(0, 4).data() == VISIBLE_PAYLOAD
    labels = window.findChildren(QLabel)
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in labels)
