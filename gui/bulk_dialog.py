"""The one confirmation before granting or rejecting several requests at once.

It lists each username with its pairing code and key fingerprint, so the
administrator can compare them with the technicians' lists before deciding; a
rejection asks for its optional reason here too. ``BulkDecisionDialog.ask`` is
the seam: it returns the choice as plain values, or None when cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.display import fixed_font, plain_label, shown, spaced_hex
from gui.fit import fit_to_screen
from gui.icons import icon
from server.service import MAX_REASON_CHARS
from server.views import RegistrationDetails

GRANT, REJECT = "grant", "reject"
USERNAME, PAIRING, FINGERPRINT = range(3)
PREFERRED_SIZE = QSize(860, 520)


@dataclass(frozen=True)
class BulkChoice:
    """What the administrator confirmed: the names, in the order listed, and a rejection's reason."""

    action: str  # GRANT or REJECT
    usernames: tuple[str, ...]
    reason: str = ""


class BulkDecisionDialog(QDialog):
    def __init__(self, action: str, requests: Sequence[RegistrationDetails], parent: QWidget | None = None):
        super().__init__(parent)
        self._action = action
        self._usernames = tuple(details.username for details in requests)
        self._choice: BulkChoice | None = None
        count = len(requests)
        verb = "Grant" if action == GRANT else "Reject"
        self.setWindowTitle(f"{verb} {count} request{'s' if count != 1 else ''}")
        self.setWindowIcon(icon("granted" if action == GRANT else "rejected"))

        heading = plain_label(f"{verb} these {count} pending requests?" if count != 1
                              else f"{verb} this pending request?", selectable=False)
        heading.setObjectName("dialogHeading")
        note = plain_label(
            "Each is granted the roles and permissions it asked for, without SANs; review a request on its "
            "own to narrow what it gets. Compare each pairing code with the one shown at its device."
            if action == GRANT else "Each agent is told it was rejected, with the reason below if you give one.",
            selectable=False)
        note.setObjectName("muted")
        note.setWordWrap(True)

        self.table = QTableWidget(count, 3)
        self.table.setHorizontalHeaderLabels(["Username", "Pairing code", "Key fingerprint (SHA-256)"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        for row, details in enumerate(requests):
            fingerprint = details.csr.key_fingerprint if details.csr else None
            cells = (shown(details.username), details.pairing_code or "none",
                     spaced_hex(fingerprint) if fingerprint else "no CSR: a password only")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)  # items are plain text: tags and & stay literal
                if column != USERNAME:
                    item.setFont(fixed_font())
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(USERNAME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PAIRING, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Reason for rejecting (optional; each agent is told)")
        self.reason_edit.setMaxLength(MAX_REASON_CHARS)
        self.reason_edit.setVisible(action == REJECT)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.confirm_button = QPushButton(icon("granted" if action == GRANT else "rejected"),
                                          f"{'&Grant' if action == GRANT else '&Reject'} {count}")
        self.confirm_button.setObjectName("grantButton" if action == GRANT else "")
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.confirm_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter must never decide for a whole list by accident
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self._confirm)
        buttons.rejected.connect(self.reject)
        self.reason_edit.returnPressed.connect(self.confirm_button.click)

        layout = QVBoxLayout(self)
        for widget in (heading, note):
            layout.addWidget(widget)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reason_edit)
        layout.addWidget(buttons)
        fit_to_screen(self, PREFERRED_SIZE)

    @classmethod
    def ask(cls, parent: QWidget | None, action: str,
            requests: Sequence[RegistrationDetails]) -> BulkChoice | None:
        """Show the dialog modally; the confirmed choice, or None when cancelled."""
        dialog = cls(action, requests, parent)
        try:
            dialog.exec()
            return dialog.choice
        finally:
            dialog.deleteLater()

    @property
    def choice(self) -> BulkChoice | None:
        return self._choice

    def _confirm(self) -> None:
        reason = self.reason_edit.text().strip() if self._action == REJECT else ""
        self._choice = BulkChoice(self._action, self._usernames, reason)
        self.accept()
