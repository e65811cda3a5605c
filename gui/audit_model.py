"""The audit view's model: who did what, when; newest first, with a bounded length."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex

from gui.display import local_time, shown
from gui.table_model import ListTableModel
from server.views import AuditRecord

# The audit table grows with every request; the window shows the recent part
# (the whole trail stays in the database and in ``main.py admin log``).
MAX_ROWS = 5000

WHEN, ACTOR, ACTION, USERNAME, DETAIL = range(5)
COLUMNS = ("When", "Who", "Action", "Username", "Detail")


class AuditModel(ListTableModel):
    """Audit records, newest first."""

    HEADERS = COLUMNS

    def __init__(self, parent=None, max_rows: int = MAX_ROWS):
        super().__init__(parent)
        self._rows: list[AuditRecord]
        self._max_rows = max_rows

    @property
    def newest_id(self) -> int:
        return self._rows[0].id if self._rows else 0

    def display(self, record: AuditRecord, column: int) -> str:
        return (
            local_time(record.at),
            shown(record.actor),
            record.action,
            shown(record.username),
            shown(record.detail),
        )[column]

    def add_newest(self, records: Sequence[AuditRecord]) -> None:
        """Put ``records`` (newest first, all newer than what is shown) on top."""
        fresh = [record for record in records if record.id > self.newest_id][:self._max_rows]
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self.endInsertRows()
        if len(self._rows) > self._max_rows:
            self.beginRemoveRows(QModelIndex(), self._max_rows, len(self._rows) - 1)
            del self._rows[self._max_rows:]
            self.endRemoveRows()
