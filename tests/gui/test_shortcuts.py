"""Everything the administrator does often has a key: Ctrl+O / Ctrl+L, Ctrl+1 / Ctrl+2,
Enter, Ctrl+E, Delete, and the mnemonics in the review dialog."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui import prompts
from gui.review_dialog import GRANT, REJECT, ReviewDialog
from tests.gui.agents import document, register
from tests.gui.test_main_window import answer_review, granted_through_the_window, row_of, state

CTRL, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier


def activate(qtbot, window) -> None:
    """Give ``window`` the keyboard focus, as the administrator's desktop does."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


@pytest.fixture
def active(qtbot, window):
    activate(qtbot, window)
    window.registrations_tab.table.setFocus()
    return window


def test_ctrl_o_opens_and_ctrl_l_locks(qtbot, active, client):
    qtbot.keyClick(active, Qt.Key.Key_O, CTRL)
    qtbot.waitUntil(lambda: state(active) == "Open")
    register(client, document("press1"))
    qtbot.keyClick(active, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(lambda: state(active) == "Locked")
    register(client, document("press2"), expected=423)


def test_the_state_button_has_a_mnemonic(qtbot, active):
    qtbot.keyClick(active, Qt.Key.Key_O, ALT)  # &Open for 5 minutes
    qtbot.waitUntil(lambda: state(active) == "Open")
    qtbot.keyClick(active, Qt.Key.Key_L, ALT)  # &Lock now
    qtbot.waitUntil(lambda: state(active) == "Locked")


def test_ctrl_1_and_ctrl_2_switch_between_registrations_and_audit_log(qtbot, active):
    qtbot.keyClick(active, Qt.Key.Key_2, CTRL)
    assert active.tabs.currentIndex() == 1
    qtbot.keyClick(active, Qt.Key.Key_1, CTRL)
    assert active.tabs.currentIndex() == 0
    assert active.registrations_tab.table.hasFocus()  # ready for the arrow keys and Enter


def test_enter_reviews_ctrl_e_exports_and_delete_deletes_the_selected_row(
        qtbot, monkeypatch, active, client, tmp_path):
    granted_through_the_window(qtbot, monkeypatch, active, client, "press6")
    activate(qtbot, active)  # back from the review dialog
    table = active.registrations_tab.table
    table.setFocus()
    qtbot.waitUntil(active.registrations_tab.export_action.isEnabled)

    reviewed = answer_review(monkeypatch, lambda dialog: None)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(reviewed) == 1)
    assert not reviewed[0].reviewable  # a granted entry opens as details

    target = tmp_path / "press6.crt"
    monkeypatch.setattr(prompts, "ask_export_path", lambda parent, username: target)
    qtbot.keyClick(table, Qt.Key.Key_E, CTRL)
    qtbot.waitUntil(target.exists)

    monkeypatch.setattr(prompts, "confirm_delete", lambda parent, username, status: True)
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: row_of(active, "press6") is None)


@pytest.fixture
def dialog(qtbot, service, client):
    service.open("tester")
    register(client, document("press3"))
    review = ReviewDialog(service.details("press3"))
    qtbot.addWidget(review)
    review.show()
    return review


def test_enter_in_the_reason_field_confirms_the_rejection(qtbot, dialog):
    qtbot.keyClicks(dialog.reason_edit, "unknown device")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    assert (dialog.decision.action, dialog.decision.reason) == (REJECT, "unknown device")
    assert not dialog.isVisible()


def test_alt_g_grants_from_the_review_dialog(qtbot, dialog):
    activate(qtbot, dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_G, ALT)
    qtbot.waitUntil(lambda: dialog.decision is not None)  # a mnemonic clicks after a short animation
    assert dialog.decision.action == GRANT


def test_escape_cancels_the_review(qtbot, dialog):
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.decision is None and not dialog.isVisible()
