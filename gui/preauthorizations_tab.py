"""The pre-authorisations tab: list, add, import a CSV list, remove.

Every read and change runs through ``BackgroundTasks``; the tab asks through
its dialog and prompt seams and reports back as signals (``done`` for the
status bar, ``failed`` for a message box). It re-reads the list after each of
its own changes and whenever ``refresh`` is called: the window calls it when
new audit entries arrive (a change from the command line, a device that used
its pre-authorisation) and once a minute (expiry follows the clock).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QTableView, QToolBar, QVBoxLayout, QWidget

from gui import prompts
from gui.display import plain_label, shown
from gui.icons import icon
from gui.preauthorization_dialog import NewPreauthorization, PreauthorizationDialog
from gui.preauthorizations_model import (
    EXPIRES,
    FINGERPRINT,
    PERMISSIONS,
    ROLES,
    STATE,
    USERNAME,
    PreauthorizationsModel,
)
from gui.tasks import BackgroundTasks
from server.service import Refused, RegistrationService
from server.views import PreauthorizationView

COLUMN_WIDTHS = {USERNAME: 150, FINGERPRINT: 300, ROLES: 130, PERMISSIONS: 200, EXPIRES: 150, STATE: 80}


def _read_csv(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(f"{path.name} is not a UTF-8 text file") from None


class PreauthorizationsTab(QWidget):
    done = Signal(str)  # what happened, for the status bar
    failed = Signal(object)  # an Exception: told in a message box

    def __init__(self, service: RegistrationService, tasks: BackgroundTasks, actor: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._service, self._tasks, self._actor = service, tasks, actor
        self._reading = self._read_again = False
        self.model = PreauthorizationsModel(self)

        self.add_action = QAction(icon("granted"), "Add…", self)
        self.add_action.setShortcut(QKeySequence("Ctrl+N"))
        self.import_action = QAction(icon("export"), "Import CSV…", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.remove_action = QAction(icon("delete"), "Remove…", self)
        self.remove_action.setShortcut(QKeySequence.StandardKey.Delete)
        for action, slot in ((self.add_action, self.add), (self.import_action, self.import_csv),
                             (self.remove_action, self.remove_selected)):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, slot=slot: slot())
            self.addAction(action)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text().rstrip('…')} ({keys})")
        toolbar = QToolBar()
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.add_action, self.import_action, self.remove_action])
        note = plain_label("Devices granted on their first request with this username and key, also while locked.",
                           selectable=False)
        note.setObjectName("muted")
        note.setWordWrap(True)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.modelReset.connect(self._update_actions)
        self.model.rowsRemoved.connect(self._update_actions)

        bar = QHBoxLayout()
        bar.addWidget(toolbar)
        bar.addWidget(note, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._update_actions()

    # ------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Read the list in the background (now, or right after the read in progress)."""
        if self._reading:
            self._read_again = True
            return
        self._reading, self._read_again = True, False
        self._tasks.run(self._service.preauthorizations, self._show, self._read_failed)

    def _show(self, rows: list[PreauthorizationView]) -> None:
        self._reading = False
        self.model.replace(rows)
        if self._read_again:
            self.refresh()

    def _read_failed(self, error: Exception) -> None:
        self._reading = False
        self.failed.emit(error)

    def selected(self) -> PreauthorizationView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.view(rows[0].row()) if rows else None

    def select_username(self, username: str) -> bool:
        for row in range(self.model.rowCount()):
            if self.model.view(row).username == username:
                self.table.selectRow(row)
                return True
        return False

    # ------------------------------------------------------------ changing

    def add(self, initial: NewPreauthorization | None = None) -> None:
        """Ask for one device; a refusal is told and the dialog opens again with what was typed."""
        entry = PreauthorizationDialog.ask(self, initial)
        if entry is None:
            return
        service, actor = self._service, self._actor

        def work():
            return service.preauthorize(entry.username, entry.fingerprint, actor, roles=entry.roles,
                                        permissions=entry.permissions, expires_hours=entry.expires_hours)

        def added(result) -> None:
            self._changed(f"Pre-authorised {shown(entry.username)}"
                          + (" (replacing the earlier one)" if result.replaced else ""))

        def refused(error: Exception) -> None:
            self.failed.emit(error)
            if isinstance(error, Refused):
                self.add(entry)

        self._tasks.run(work, added, refused)

    def import_csv(self) -> None:
        path = prompts.ask_preauthorization_csv(self)
        if path is None:
            return
        service, actor = self._service, self._actor
        self._tasks.run(lambda: service.import_preauthorizations(_read_csv(path), actor),
                        lambda results: self._changed(f"Pre-authorised {len(results)} device"
                                                      f"{'s' if len(results) != 1 else ''} from {path.name}"),
                        self.failed.emit)

    def remove_selected(self) -> None:
        view = self.selected()
        if view is None or not prompts.confirm_unpreauthorize(self, view.username):
            return
        username, service, actor = view.username, self._service, self._actor
        self._tasks.run(lambda: service.unpreauthorize(username, actor),
                        lambda _: self._changed(f"Removed the pre-authorisation of {shown(username)}"),
                        self.failed.emit)

    def _changed(self, message: str) -> None:
        self.done.emit(message)
        self.refresh()

    def _update_actions(self, *_: object) -> None:
        self.remove_action.setEnabled(self.selected() is not None)
