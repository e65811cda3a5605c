"""The registrations table: a Qt model over plain ``RegistrationSummary`` rows,
and the proxy that filters it by status.

Rows are kept in the order the database gives them (oldest request first), or
sorted by a column, and found by id through a dict, so applying one change is a
lookup plus one ``dataChanged``, and loading 10,000 rows is one
``beginInsertRows``. The model sorts itself in Python (one ``list.sort``)
rather than letting the proxy sort, which would call ``data()`` from C++ for
every comparison: seconds instead of milliseconds at 10,000 rows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal

from gui.display import fixed_font, local_time, shown
from gui.expiry import expiry_state, expiry_text
from gui.icons import expiry_icon, status_icon
from gui.table_model import ROW_ROLE, Index, ListTableModel
from gui.theme import expiry_colour
from server.statuses import VIA_EST
from server.views import RegistrationSummary

SUMMARY_ROLE = ROW_ROLE

USERNAME, PAIRING, STATUS, VIA, ROLES, PERMISSIONS, KEY, SOURCE, REQUESTED, LAST_POLL, SERIAL, EXPIRES = range(12)
COLUMNS = ("Username", "Pairing code", "Status", "Via", "Requested roles", "Permissions", "Key", "Source address",
           "Requested at", "Last poll", "Certificate serial", "Expires")
VIA_TEXT = {VIA_EST: "EST"}  # anything else came in over the JSON API
VIA_TOOLTIP = {VIA_EST: "Enrolled over EST (RFC 7030)"}
PAIRING_TOOLTIP = "The code the enrolment tool printed at the device: compare it with the technician's"


def _display(row: RegistrationSummary, column: int) -> str:
    if column == USERNAME:
        return shown(row.username)
    if column == PAIRING:
        return row.pairing_code or ""  # none for requests from before pairing codes
    if column == STATUS:
        return row.status.capitalize()
    if column == VIA:
        return VIA_TEXT.get(row.enrolled_via, "API")
    if column == ROLES:
        return ", ".join(shown(role) for role in row.roles)
    if column == PERMISSIONS:
        return str(row.permission_count)
    if column == KEY:
        return row.key_description or "no CSR"
    if column == SOURCE:
        return shown(row.source_address)
    if column == REQUESTED:
        return local_time(row.requested_at)
    if column == LAST_POLL:
        return local_time(row.last_poll_at)
    if column == SERIAL:
        return row.certificate_serial or ""
    return local_time(row.certificate_not_after)[:10]  # the day is what matters for expiry


# Raw values to sort on, by column: numbers as numbers, times as times.
_SORT_KEYS = (
    lambda row: row.username.lower(),
    lambda row: row.pairing_code or "",
    lambda row: row.status,
    lambda row: row.enrolled_via,
    lambda row: ", ".join(row.roles),
    lambda row: row.permission_count,
    lambda row: row.key_description or "",
    lambda row: row.source_address,
    lambda row: row.requested_at,
    lambda row: row.last_poll_at,
    lambda row: row.certificate_serial or "",
    lambda row: row.certificate_not_after or 0.0,
)


_EXPIRY_ROLES = (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.DecorationRole)


class RegistrationsModel(ListTableModel):
    """Every registration the window knows of, updated in place as the database changes."""

    HEADERS = COLUMNS
    changed = Signal()  # once per apply or removal that changed anything

    def __init__(self, parent=None, clock: Callable[[], float] = time.time):
        """``clock``: the service's (``RegistrationService.clock``), which decides what has expired."""
        super().__init__(parent)
        self._clock = clock
        self._rows: list[RegistrationSummary]
        self._row_of: dict[int, int] = {}  # registration id -> row number
        self._counts: Counter[str] = Counter()  # per status, kept as rows change
        self._sort_column = -1  # -1: the database's order
        self._descending = False

    # ----------------------------------------------------------- reading

    def display(self, row: RegistrationSummary, column: int) -> str:
        return _display(row, column)

    def styled(self, row: RegistrationSummary, column: int, role: int):
        if column == EXPIRES:
            return self._expiry_data(row, role)
        if role == Qt.ItemDataRole.DecorationRole and column == STATUS:
            return status_icon(row.status)
        if column == PAIRING and role == Qt.ItemDataRole.FontRole:
            return fixed_font()  # read out by phone: 0/O and 1/I must not look alike
        if column == PAIRING and role == Qt.ItemDataRole.ToolTipRole:
            return PAIRING_TOOLTIP
        if role == Qt.ItemDataRole.ToolTipRole and column == VIA:
            return VIA_TOOLTIP.get(row.enrolled_via, "Registered over the JSON API")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PERMISSIONS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _expiry_data(self, row: RegistrationSummary, role: int):
        """A certificate within 30 days of its end, or past it, stands out: colour, icon, and
        the days left in its tooltip, measured with the service's clock."""
        if row.certificate_not_after is None or role not in _EXPIRY_ROLES:
            return None
        now = self._clock()
        if role == Qt.ItemDataRole.ToolTipRole:
            return expiry_text(row.certificate_not_after, now)
        state = expiry_state(row.certificate_not_after, now)
        if state is None:
            return None
        return expiry_colour(state) if role == Qt.ItemDataRole.ForegroundRole else expiry_icon(state)

    def has_current_certificate(self, row: RegistrationSummary) -> bool:
        """The row names an unrevoked certificate that has not run out (by the service's clock)."""
        return row.certificate_not_after is not None and row.certificate_not_after > self._clock()

    def times_passed(self) -> None:
        """Time moved on: repaint the Expires column, whose marks follow the clock."""
        if self._rows:
            self.dataChanged.emit(self.index(0, EXPIRES), self.index(len(self._rows) - 1, EXPIRES),
                                  list(_EXPIRY_ROLES))

    def summary(self, row: int) -> RegistrationSummary:
        return self._rows[row]

    def find(self, registration_id: int) -> RegistrationSummary | None:
        """The row of this registration, or None when it is not (any more) in the registry."""
        row = self._row_of.get(registration_id)
        return None if row is None else self._rows[row]

    def find_username(self, username: str) -> RegistrationSummary | None:
        """The row of ``username`` (usernames are unique without regard to case)."""
        folded = username.casefold()
        return next((row for row in self._rows if row.username.casefold() == folded), None)

    def status_at(self, row: int) -> str:
        return self._rows[row].status

    def count(self, status: str) -> int:
        return self._counts[status]

    # ----------------------------------------------------------- changing

    def apply(self, changed: Iterable[RegistrationSummary]) -> list[RegistrationSummary]:
        """Insert new rows and update known ones; return the rows that were new."""
        added: list[RegistrationSummary] = []
        updated = moved = False
        last_column = len(COLUMNS) - 1
        for summary in changed:
            row = self._row_of.get(summary.id)
            if row is None:
                added.append(summary)
            else:
                moved = moved or self._sort_column >= 0 and (
                    _SORT_KEYS[self._sort_column](summary) != _SORT_KEYS[self._sort_column](self._rows[row]))
                self._counts[self._rows[row].status] -= 1
                self._counts[summary.status] += 1
                self._rows[row] = summary
                updated = True
                self.dataChanged.emit(self.index(row, 0), self.index(row, last_column))
        if added:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            for offset, summary in enumerate(added):
                self._row_of[summary.id] = first + offset
            self._rows.extend(added)
            self._counts.update(summary.status for summary in added)
            self.endInsertRows()
        if self._sort_column >= 0 and (added or moved):
            self._sort_rows()
        if added or updated:
            self.changed.emit()
        return added

    def keep_only(self, ids: set[int]) -> None:
        """Remove the rows whose registration no longer exists."""
        doomed = sorted((row for registration_id, row in self._row_of.items() if registration_id not in ids),
                        reverse=True)
        if not doomed:
            return
        # Remove runs of neighbouring rows bottom-up, so row numbers above stay valid.
        run_end = run_start = doomed[0]
        for row in doomed[1:] + [None]:
            if row is not None and row == run_start - 1:
                run_start = row
                continue
            self.beginRemoveRows(QModelIndex(), run_start, run_end)
            self._counts.subtract(summary.status for summary in self._rows[run_start:run_end + 1])
            del self._rows[run_start:run_end + 1]
            self.endRemoveRows()
            if row is not None:
                run_end = run_start = row
        self._row_of = {summary.id: row for row, summary in enumerate(self._rows)}
        self.changed.emit()


    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Keep the rows sorted by ``column`` (raw values, not text) from now on; -1: database order."""
        self._sort_column = column if 0 <= column < len(COLUMNS) else -1
        self._descending = order == Qt.SortOrder.DescendingOrder
        if self._sort_column >= 0:
            self._sort_rows()

    def _sort_rows(self) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        persistent_ids = [self._rows[index.row()].id for index in persistent]
        key = _SORT_KEYS[self._sort_column]
        # Ties fall back to the database's order (oldest request first), reversed with the rest.
        self._rows.sort(key=lambda row: (key(row), row.requested_at, row.id), reverse=self._descending)
        self._row_of = {summary.id: row for row, summary in enumerate(self._rows)}
        self.changePersistentIndexList(
            persistent, [self.index(self._row_of[registration_id], index.column())
                         for registration_id, index in zip(persistent_ids, persistent)])
        self.layoutChanged.emit()


class StatusFilter(QSortFilterProxyModel):
    """Shows the rows of one status, or all; sorting is left to the source model."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._status: str | None = None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    @property
    def status(self) -> str | None:
        return self._status

    def set_status(self, status: str | None) -> None:
        self.beginFilterChange()
        self._status = status
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return self._status is None or self.sourceModel().status_at(source_row) == self._status
