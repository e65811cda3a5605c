"""The audit view's model: who did what, when; newest first, with a bounded length."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from gui.display import local_time, shown
from server.views import AuditRecord

Index = QModelIndex | QPersistentModelIndex

# The audit table grows with every request; the window shows the recent part
# (the whole trail stays in the database and in ``main.py admin log``).
MAX_ROWS = 5000

WHEN, ACTOR, ACTION, USERNAME, DETAIL = range(5)
HEADERS = ("When", "Who", "Action", "Username", "Detail")


class AuditModel(QAbstractTableModel):
    def __init__(self, parent=None, max_rows: int = MAX_ROWS):
        super().__init__(parent)
        self._records: list[AuditRecord] = []  # newest first
        self._max_rows = max_rows

    @property
    def newest_id(self) -> int:
        return self._records[0].id if self._records else 0

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        record = self._records[index.row()]
        return (
            local_time(record.at),
            shown(record.actor),
            record.action,
            shown(record.username),
            shown(record.detail),
        )[index.column()]

    def add_newest(self, records: Sequence[AuditRecord]) -> None:
        """Put ``records`` (newest first, all newer than what is shown) on top."""
        fresh = [record for record in records if record.id > self.newest_id][:self._max_rows]
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._records[:0] = fresh
        self.endInsertRows()
        if len(self._records) > self._max_rows:
            self.beginRemoveRows(QModelIndex(), self._max_rows, len(self._records) - 1)
            del self._records[self._max_rows:]
            self.endRemoveRows()
