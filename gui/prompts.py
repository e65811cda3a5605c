"""The small modal questions the main window asks, each one function.

Each is a seam: tests of the main window replace the function, tests of the
prompt itself are not needed beyond Qt's own dialogs. Network text (usernames)
is shown as plain text.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from gui.display import plain_label, shown
from server.lifecycle import REASONS
from server.statuses import GRANTED

# What each RFC 5280 reason means for the administrator choosing it; the name is what the CRL says.
REASON_MEANINGS = {
    "unspecified": "no particular reason",
    "keyCompromise": "the private key may be known to someone else",
    "affiliationChanged": "the device moved to another owner, site or purpose",
    "superseded": "another certificate replaces it",
    "cessationOfOperation": "the device is out of service",
}


def ask_export_path(parent: QWidget | None, username: str) -> Path | None:
    """Where to save ``username``'s certificate; None when cancelled."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Export certificate", str(Path.home() / f"{username}.crt"),
        "PEM certificate (*.crt *.pem);;All files (*)")
    return Path(path) if path else None


def ask_preauthorization_csv(parent: QWidget | None) -> Path | None:
    """A CSV list of devices to pre-authorise (header ``username,fingerprint,roles,permissions``)."""
    path, _ = QFileDialog.getOpenFileName(parent, "Import pre-authorisations", str(Path.home()),
                                          "CSV files (*.csv);;All files (*)")
    return Path(path) if path else None


def confirm_unpreauthorize(parent: QWidget | None, username: str) -> bool:
    """Ask before removing a pre-authorisation; the device may still ask the ordinary way."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Remove pre-authorisation")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Remove the pre-authorisation of {shown(username)}?")
    box.setInformativeText("A request from it then waits for review like any other.")
    box.setStandardButtons(QMessageBox.StandardButton.Cancel)
    remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is remove


def confirm_delete(parent: QWidget | None, username: str, status: str) -> bool:
    """Ask before deleting; a granted client's password and certificate stop working at once."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Delete registration")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Delete {shown(username)} ({status})?")
    box.setInformativeText(
        "Its password and certificate stop working at once." if status == GRANTED
        else "The agent may send a new request while the registry is open.")
    box.setStandardButtons(QMessageBox.StandardButton.Cancel)
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is delete


def ask_revoke_reason(parent: QWidget | None, username: str, serial: str | None) -> str | None:
    """The reason to revoke ``username``'s current certificate with (one of ``REASONS``);
    None when cancelled. The client stays granted and may renew with its password."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Revoke certificate")
    question = plain_label(f"Revoke the current certificate of {shown(username)}"
                           + (f" (serial {serial})?" if serial else "?"), selectable=False)
    question.setWordWrap(True)
    note = plain_label("It goes on the revocation list at once. The client stays granted: its password "
                       "still works, and it can renew.", selectable=False)
    note.setObjectName("muted")
    note.setWordWrap(True)
    reasons = QComboBox()
    reasons.setObjectName("revokeReason")
    for name in REASONS:
        reasons.addItem(f"{name}: {REASON_MEANINGS.get(name, '')}", name)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    buttons.addButton("Revoke", QDialogButtonBox.ButtonRole.AcceptRole)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for widget in (question, note, plain_label("Reason (written into the CRL):", selectable=False), reasons, buttons):
        layout.addWidget(widget)
    try:
        return reasons.currentData() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


def tell_cannot_start(reason: str) -> None:
    """Someone who started the window from a desktop sees no log: tell them, unless nobody can see it."""
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "Client Registry", "Client Registry cannot start.")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(reason)
    _readable_width(box)
    box.exec()


def tell_failure(parent: QWidget | None, text: str) -> None:
    """An action the administrator asked for was refused or failed: say so in a box they must see."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Client Registry")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    _readable_width(box)
    box.exec()


def _readable_width(box: QMessageBox) -> None:
    """QMessageBox wraps a long line to a narrow column of short lines; give its text room."""
    box.setStyleSheet("#qt_msgbox_label, #qt_msgbox_informativelabel { min-width: 26em; }")
