"""The pre-authorisations table: a Qt model over plain ``PreauthorizationView`` rows.

A list is small (a commissioning day's devices), so each read replaces it
whole; ``replace`` still tells Qt row by row what was removed, changed or
added (by username, which is unique without regard to case), so a selection
stays on its row while the list refreshes.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt

from gui.display import fixed_font, local_time, permission_text, shown, spaced_hex
from gui.table_model import ROW_ROLE, ListTableModel
from server.preauthorization import EXPIRED, UNUSED, USED
from server.views import PreauthorizationView

VIEW_ROLE = ROW_ROLE

USERNAME, FINGERPRINT, ROLES, PERMISSIONS, EXPIRES, STATE = range(6)
COLUMNS = ("Username", "Key fingerprint", "Roles", "Permissions", "Expires", "State")
STATE_TOOLTIPS = {
    UNUSED: "Waiting: a request with this username and key is granted on arrival",
    USED: "Used up: it granted a request",
    EXPIRED: "Expired before a matching request came",
}


def _display(row: PreauthorizationView, column: int) -> str:
    if column == USERNAME:
        return shown(row.username)
    if column == FINGERPRINT:
        return spaced_hex(row.key_fingerprint)
    if column == ROLES:
        return ", ".join(shown(role) for role in row.roles)
    if column == PERMISSIONS:
        return "; ".join(permission_text(permission) for permission in row.permissions)
    if column == EXPIRES:
        return local_time(row.expires_at) if row.expires_at is not None else "never"
    return row.state


class PreauthorizationsModel(ListTableModel):
    HEADERS = COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[PreauthorizationView]

    def display(self, row: PreauthorizationView, column: int) -> str:
        return _display(row, column)

    def styled(self, row: PreauthorizationView, column: int, role: int):
        if role == Qt.ItemDataRole.FontRole and column == FINGERPRINT:
            return fixed_font()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == STATE:
                return STATE_TOOLTIPS.get(row.state, row.state)
            if column == PERMISSIONS:
                return "\n".join(permission_text(permission) for permission in row.permissions) or None
            if column == FINGERPRINT:
                used = f"; used {local_time(row.used_at)}" if row.used_at is not None else ""
                return (f"{spaced_hex(row.key_fingerprint)}\n"
                        f"Created {local_time(row.created_at)} by {shown(row.created_by)}{used}")
        return None

    def view(self, row: int) -> PreauthorizationView:
        return self._rows[row]

    def replace(self, rows: Sequence[PreauthorizationView]) -> None:
        """Show ``rows`` (as the core lists them): removals, updates and additions told to Qt one by one."""
        wanted = {row.username.casefold(): row for row in rows}
        for number in range(len(self._rows) - 1, -1, -1):
            if self._rows[number].username.casefold() not in wanted:
                self.beginRemoveRows(QModelIndex(), number, number)
                del self._rows[number]
                self.endRemoveRows()
        known = {row.username.casefold(): number for number, row in enumerate(self._rows)}
        last_column = len(COLUMNS) - 1
        for key, number in known.items():
            if wanted[key] != self._rows[number]:
                self._rows[number] = wanted[key]
                self.dataChanged.emit(self.index(number, 0), self.index(number, last_column))
        added = [row for key, row in wanted.items() if key not in known]
        if added:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._rows.extend(added)
            self.endInsertRows()
