"""The shape both of the window's tables share: a flat list of rows under fixed headers."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
# The row's own object, for the views that act on a row (review, export, remove…).
ROW_ROLE = Qt.ItemDataRole.UserRole


class ListTableModel(QAbstractTableModel):
    """Rows in ``self._rows``; subclasses name their columns in ``HEADERS``, spell a cell in
    ``display`` and may add colours, fonts, icons and tooltips in ``styled``."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, index.column())
        if role == ROW_ROLE:
            return row
        return self.styled(row, index.column(), role)

    def display(self, row, column: int) -> str:
        raise NotImplementedError

    def styled(self, row, column: int, role: int):
        """What a role other than the text says of a cell; None by default."""
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None
