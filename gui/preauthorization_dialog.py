"""Pre-authorise one device: username, key fingerprint, the most it may be granted, expiry.

``PreauthorizationDialog.ask`` is the seam: it returns what was typed as plain
values (or None when cancelled); the core checks them and refuses with one line
(shown in a message box, after which the dialog opens again with what was typed).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from gui.display import fixed_font, plain_label
from gui.fit import fit_to_screen
from server.preauthorization import MAX_EXPIRES_HOURS

PREFERRED_SIZE = QSize(640, 480)


@dataclass(frozen=True)
class NewPreauthorization:
    username: str
    fingerprint: str  # hex, as typed (any case, colons or spaces allowed)
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()  # CONTEXT:OPERATION:RESOURCE
    expires_hours: float | None = None  # None: until used


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class PreauthorizationDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, initial: NewPreauthorization | None = None):
        super().__init__(parent)
        self.setWindowTitle("Pre-authorise a device")
        self._result: NewPreauthorization | None = None
        note = plain_label("A request with this username and key is granted on arrival, even while the registry "
                           "is locked, with the requested roles and permissions that are listed here.",
                           selectable=False)
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.username_edit = QLineEdit()
        self.fingerprint_edit = QLineEdit()
        self.fingerprint_edit.setFont(fixed_font())
        self.fingerprint_edit.setPlaceholderText("SHA-256 of the key, 64 hex digits (the enrolment tool prints it)")
        self.roles_edit = QPlainTextEdit()
        self.roles_edit.setPlaceholderText("one role a line")
        self.permissions_edit = QPlainTextEdit()
        self.permissions_edit.setPlaceholderText("one a line: CONTEXT:OPERATION:RESOURCE, e.g. mqtt:read:plant/#")
        for edit in (self.roles_edit, self.permissions_edit):
            edit.setTabChangesFocus(True)
            edit.setMaximumHeight(90)
        self.expires_box = QDoubleSpinBox()
        self.expires_box.setRange(0, MAX_EXPIRES_HOURS)
        self.expires_box.setDecimals(1)
        self.expires_box.setSuffix(" hours")
        self.expires_box.setSpecialValueText("never (until used)")  # shown at 0
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for caption, field in (("Username", self.username_edit), ("Key fingerprint", self.fingerprint_edit),
                               ("Roles", self.roles_edit), ("Permissions", self.permissions_edit),
                               ("Expires after", self.expires_box)):
            form.addRow(plain_label(caption, selectable=False), field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = buttons.addButton("Pre-authorise", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._confirm)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addStretch()
        layout.addWidget(buttons)
        if initial is not None:
            self.username_edit.setText(initial.username)
            self.fingerprint_edit.setText(initial.fingerprint)
            self.roles_edit.setPlainText("\n".join(initial.roles))
            self.permissions_edit.setPlainText("\n".join(initial.permissions))
            self.expires_box.setValue(initial.expires_hours or 0)
        fit_to_screen(self, PREFERRED_SIZE)

    @classmethod
    def ask(cls, parent: QWidget | None, initial: NewPreauthorization | None = None) -> NewPreauthorization | None:
        """Show the dialog modally; what was typed, or None when cancelled."""
        dialog = cls(parent, initial)
        try:
            dialog.exec()
            return dialog.entry
        finally:
            dialog.deleteLater()

    @property
    def entry(self) -> NewPreauthorization | None:
        return self._result

    def typed(self) -> NewPreauthorization:
        hours = self.expires_box.value()
        return NewPreauthorization(self.username_edit.text().strip(), self.fingerprint_edit.text().strip(),
                                   _lines(self.roles_edit.toPlainText()), _lines(self.permissions_edit.toPlainText()),
                                   hours if hours > 0 else None)

    def _confirm(self) -> None:
        self._result = self.typed()
        self.accept()
