"""The registrations tab: status filter, actions and the table over the model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QMenu,
    QSizePolicy,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gui.display import plain_label
from gui.icons import icon
from gui.registrations_model import (
    EXPIRES,
    KEY,
    LAST_POLL,
    PAIRING,
    PERMISSIONS,
    REQUESTED,
    ROLES,
    SERIAL,
    SOURCE,
    STATUS,
    SUMMARY_ROLE,
    USERNAME,
    VIA,
    RegistrationsModel,
    StatusFilter,
)
from server.statuses import GRANTED, PENDING, STATUSES
from server.views import RegistrationSummary

FILTERS = (("All registrations", None),) + tuple((status.capitalize(), status) for status in STATUSES)
# Header padding (style sheet: 6 px each side) plus room for the sort arrow.
HEADER_ROOM = 2 * 6 + 22
COLUMN_WIDTHS = {USERNAME: 160, PAIRING: 110, STATUS: 100, VIA: 50, ROLES: 150, PERMISSIONS: 95, KEY: 85, SOURCE: 125,
                 REQUESTED: 145, LAST_POLL: 145, SERIAL: 125, EXPIRES: 100}


class RegistrationsTab(QWidget):
    """Emits what the admin asked to do with the selected registration."""

    review_requested = Signal(object)  # RegistrationSummary
    export_requested = Signal(object)
    revoke_requested = Signal(object)
    delete_requested = Signal(object)
    grant_selected_requested = Signal(list)  # the selected pending RegistrationSummary rows, in view order
    reject_selected_requested = Signal(list)
    filter_changed = Signal(object)  # status or None

    def __init__(self, model: RegistrationsModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.proxy = StatusFilter(self)
        self.proxy.setSourceModel(model)

        self.filter_box = QComboBox()
        for text, status in FILTERS:
            self.filter_box.addItem(icon(status) if status else icon("registrations"), text, status)
        self.filter_box.currentIndexChanged.connect(self._filter_chosen)
        self.counts_label = plain_label("", selectable=False)
        self.counts_label.setObjectName("muted")
        # On a narrow screen the counts give way (the tab title still has the pending count).
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.review_action = QAction(icon("review"), "Review…", self)
        self.review_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter),
                                         QKeySequence("Ctrl+R")])
        self.export_action = QAction(icon("export"), "Export certificate…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.revoke_action = QAction(icon("rejected"), "Revoke certificate…", self)
        self.revoke_action.setShortcut(QKeySequence("Ctrl+Shift+R"))  # Ctrl+R reviews
        self.delete_action = QAction(icon("delete"), "Delete…", self)
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        for action, signal in ((self.review_action, self.review_requested),
                               (self.export_action, self.export_requested),
                               (self.revoke_action, self.revoke_requested),
                               (self.delete_action, self.delete_requested)):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, signal=signal: self._emit_for_selected(signal))
            self.addAction(action)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text().rstrip('…')} ({keys})")
        # Several rows at once (Shift/Ctrl+click): one confirmation lists them all.
        self.grant_selected_action = QAction(icon("granted"), "Grant selected…", self)
        self.grant_selected_action.setShortcut(QKeySequence("Ctrl+G"))
        self.reject_selected_action = QAction(icon("rejected"), "Reject selected…", self)
        self.reject_selected_action.setShortcut(QKeySequence("Ctrl+J"))
        for action, signal in ((self.grant_selected_action, self.grant_selected_requested),
                               (self.reject_selected_action, self.reject_selected_requested)):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, signal=signal: self._emit_pending_selected(signal))
            self.addAction(action)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text().rstrip('…')}: every selected pending request, after one "
                              f"confirmation ({keys})")
        toolbar = QToolBar()
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.review_action, self.export_action, self.revoke_action, self.delete_action])
        toolbar.addSeparator()
        toolbar.addActions([self.grant_selected_action, self.reject_selected_action])

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, max(width, header_width(header, model, column)))
        # No sort column until the admin clicks a header: the database's order
        # (oldest first) costs nothing, while sorting 10,000 rows calls into Python.
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.doubleClicked.connect(lambda _: self._emit_for_selected(self.review_requested))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        model.changed.connect(self._model_changed)

        bar = QHBoxLayout()
        bar.addWidget(self.filter_box)
        bar.addWidget(toolbar)
        bar.addWidget(self.counts_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._model_changed()

    def set_filter(self, status: str | None) -> None:
        index = self.filter_box.findData(status)
        self.filter_box.setCurrentIndex(max(index, 0))

    def selected(self) -> RegistrationSummary | None:
        """The one selected row; None when none or several are selected."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(SUMMARY_ROLE) if len(rows) == 1 else None

    def selected_rows(self) -> list[RegistrationSummary]:
        """Every selected row, top to bottom as shown."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda index: index.row())
        return [index.data(SUMMARY_ROLE) for index in rows]

    def selected_pending(self) -> list[RegistrationSummary]:
        return [row for row in self.selected_rows() if row.status == PENDING]

    def select_username(self, username: str) -> bool:
        """Select the row of ``username`` among those shown; False when it is not shown."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, USERNAME)
            if index.data(SUMMARY_ROLE).username == username:
                self.table.selectRow(row)
                return True
        return False

    def _filter_chosen(self) -> None:
        status = self.filter_box.currentData()
        self.proxy.set_status(status)
        self.filter_changed.emit(status)

    def _emit_pending_selected(self, signal) -> None:
        rows = self.selected_pending()
        if rows:
            signal.emit(rows)

    def _emit_for_selected(self, signal) -> None:
        summary = self.selected()
        if summary is not None:
            signal.emit(summary)

    def _context_menu(self, position) -> None:
        if not self.table.indexAt(position).isValid():
            return
        menu = QMenu(self)
        menu.addActions([self.review_action, self.export_action, self.revoke_action])
        menu.addSeparator()
        menu.addActions([self.grant_selected_action, self.reject_selected_action])
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.exec(self.table.viewport().mapToGlobal(position))

    def _model_changed(self) -> None:
        self._fit_counts()
        self._update_actions()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_counts()

    def _fit_counts(self) -> None:
        """All counts where they fit, else the pending count alone, never a clipped half."""
        full = " · ".join(f"{self.model.count(status)} {status}" for status in STATUSES)
        room = self.counts_label.width()
        metrics = self.counts_label.fontMetrics()
        short = f"{self.model.count(PENDING)} {PENDING}"
        fitting = [text for text in (full, short) if metrics.horizontalAdvance(text) <= room]
        self.counts_label.setText(fitting[0] if fitting else "")
        self.counts_label.setToolTip(full)

    def _update_actions(self, *_: object) -> None:
        summary = self.selected()
        self.review_action.setEnabled(summary is not None)
        self.review_action.setText("Review…" if summary is None or summary.status == PENDING else "Details…")
        self.export_action.setEnabled(summary is not None and summary.status == GRANTED
                                      and summary.certificate_serial is not None)
        self.revoke_action.setEnabled(summary is not None and summary.status == GRANTED
                                      and self.model.has_current_certificate(summary))
        self.delete_action.setEnabled(summary is not None)
        pending = len(self.selected_pending())
        for action, verb in ((self.grant_selected_action, "Grant"), (self.reject_selected_action, "Reject")):
            action.setEnabled(pending > 0)
            action.setText(f"{verb} {pending} selected…" if pending > 1 else f"{verb} selected…")


def header_width(header, model, column: int) -> int:
    """The width a header needs to show its title whole, in the bold the style sheet gives it."""
    font = QFont(header.font())
    font.setWeight(QFont.Weight.DemiBold)
    title = model.headerData(column, Qt.Orientation.Horizontal)
    return QFontMetrics(font).horizontalAdvance(title) + HEADER_ROOM
