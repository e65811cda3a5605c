"""Pairing codes: the technician at the device reads eight characters out by phone, and
the administrator finds the same ones in the table and in the review, in a monospaced font."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo

from gui.registrations_model import PAIRING, RegistrationsModel
from gui.review_dialog import ReviewDialog
from tests.gui.agents import document, register
from tests.gui.test_main_window import answer_review, open_registry, review, row_of
from tests.gui.test_models import summary


def test_the_table_has_a_pairing_code_column_in_a_monospaced_font(qtmodeltester):
    model = RegistrationsModel()
    model.apply([summary(1, pairing_code="ABCD-EFGH"), summary(2, pairing_code=None),
                 summary(3, "granted", pairing_code="KMNP-QRST")])
    qtmodeltester.check(model, force_py=True)
    assert model.headerData(PAIRING, Qt.Orientation.Horizontal) == "Pairing code"
    assert [model.index(row, PAIRING).data() for row in range(3)] == ["ABCD-EFGH", "", "KMNP-QRST"]
    assert QFontInfo(model.index(0, PAIRING).data(Qt.ItemDataRole.FontRole)).fixedPitch()
    model.sort(PAIRING, Qt.SortOrder.DescendingOrder)
    assert [model.index(row, PAIRING).data() for row in range(3)] == ["KMNP-QRST", "ABCD-EFGH", ""]


def test_the_code_the_agent_was_given_shows_in_the_table_and_the_review(qtbot, monkeypatch, window, client):
    open_registry(qtbot, window)
    code = register(client, document("press2")).json["pairingCode"]
    qtbot.waitUntil(lambda: row_of(window, "press2") is not None)
    assert row_of(window, "press2").pairing_code == code
    dialogs = answer_review(monkeypatch, lambda dialog: None)
    review(qtbot, window, "press2")
    qtbot.waitUntil(lambda: len(dialogs) == 1)
    label = dialogs[0].pairing_label
    assert label.text() == code
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert QFontInfo(label.font()).fixedPitch()


def test_an_impostor_under_the_same_name_shows_another_code(qtbot, window, client, service):
    open_registry(qtbot, window)
    first = register(client, document("press3")).json["pairingCode"]
    service.delete("press3", "tester")
    second = register(client, document("press3")).json["pairingCode"]
    assert first != second
    qtbot.waitUntil(lambda: row_of(window, "press3") is not None and row_of(window, "press3").pairing_code == second)
    dialog = ReviewDialog(service.details("press3"))
    qtbot.addWidget(dialog)
    assert dialog.pairing_label.text() == second
