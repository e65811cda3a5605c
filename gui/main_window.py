"""The admin window: registry state, registrations, audit log, pre-authorisations.

Every service call runs through ``BackgroundTasks``; this class only wires
signals, asks the administrator (through the dialog and prompt seams) and
shows outcomes. The database stays the truth: after each action the window
re-reads what changed instead of patching its models by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from gui import prompts
from gui.audit_model import AuditModel
from gui.audit_view import audit_table
from gui.bulk_actions import BulkActions
from gui.certificate_actions import CertificateActions
from gui.crl_watch import CrlFacts, CrlWatch, crl_text
from gui.display import plain_label, shown
from gui.failures import failure_text
from gui.fit import fit_to_screen
from gui.icons import icon
from gui.registrations_model import RegistrationsModel
from gui.registrations_tab import RegistrationsTab
from gui.preauthorizations_tab import PreauthorizationsTab
from gui.registry_sync import RegistrySync
from gui.review_dialog import GRANT, ReviewDecision, ReviewDialog
from gui.state_panel import OPEN_TEXT, RegistryStatePanel
from gui.steady_tabs import SteadyTabWidget
from gui.tasks import BackgroundTasks
from server.actors import admin_actor
from server.service import DEFAULT_OPEN_SECONDS, RegistrationService
from server.statuses import PENDING
from server.views import Decision, RegistrationDetails, RegistrationSummary, RegistryStatus

GEOMETRY_KEY = "window/geometry"
COLUMNS_KEY = "window/registrationColumnsV3"  # V3: the Pairing code column; an older layout would misplace it
FILTER_KEY = "registrations/filter"
NOTICE_MS = 10_000
REGISTRATIONS_TITLE = "&Registrations"
PREFERRED_SIZE = QSize(1280, 760)
INSECURE_TEXT = ("TLS IS OFF (--no-tls): passwords and certificates cross the network in clear text. "
                 "For local experiments only.")


class MainWindow(QMainWindow):
    def __init__(self, service: RegistrationService, urls: str | Sequence[str], settings: QSettings,
                 parent: QWidget | None = None):
        """``urls``: where agents reach the server (``RegistryServer.agent_urls``), or its one URL."""
        super().__init__(parent)
        urls = [urls] if isinstance(urls, str) else list(urls)
        self.service = service
        self.settings = settings
        self.actor = admin_actor("window")
        self.setWindowTitle("Client Registry")
        self.setWindowIcon(icon("app"))

        self.tasks = BackgroundTasks(self, after_each=service.release_connection)
        self.registrations = RegistrationsModel(self, clock=service.clock)
        self.audit = AuditModel(self)
        self.sync = RegistrySync(service, self.tasks, self.registrations, self.audit, parent=self)
        self.crl_watch = CrlWatch(service, self.tasks, parent=self)
        self.certificates = CertificateActions(service, self.tasks, self.actor, self)
        self.bulk = BulkActions(service, self.tasks, self.actor, self)

        self.state_panel = RegistryStatePanel(service.clock, urls, service.ca.fingerprint)
        self.insecure_banner = plain_label(INSECURE_TEXT, selectable=False)
        self.insecure_banner.setObjectName("insecureBanner")
        self.insecure_banner.setWordWrap(True)
        self.insecure_banner.setVisible(any(url.startswith("http://") for url in urls))
        self.registrations_tab = RegistrationsTab(self.registrations)
        self.audit_table = audit_table(self.audit)
        self.preauthorizations_tab = PreauthorizationsTab(service, self.tasks, self.actor)
        self.tabs = SteadyTabWidget()  # the title's pending count changes without repainting the table
        self.tabs.addTab(self.registrations_tab, icon("registrations"), REGISTRATIONS_TITLE)
        self.tabs.addTab(self.audit_table, icon("audit"), "&Audit log")
        self.tabs.addTab(self.preauthorizations_tab, icon("granted"), "&Pre-authorised")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 12, 12, 6)
        layout.setSpacing(10)
        layout.addWidget(self.insecure_banner)
        layout.addWidget(self.state_panel)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Reading the registry…")
        self.crl_label = plain_label("", selectable=False)  # permanent: messages never hide it
        self.crl_label.setToolTip("The certificate revocation list brokers fetch (/api/client-registry/crl, "
                                  "crl.pem in the data folder): reissued after each revocation and before "
                                  "its next update")
        self.statusBar().addPermanentWidget(self.crl_label)
        self.tray = self._make_tray()

        self.state_panel.open_requested.connect(self.open_registry)
        self.state_panel.lock_requested.connect(self.lock_registry)
        self.state_panel.copied.connect(lambda what: self.statusBar().showMessage(f"{what} copied", NOTICE_MS))
        self.sync.status_read.connect(self.state_panel.show_status)
        self.sync.pending_arrived.connect(self._announce)
        self.sync.loaded.connect(self._loaded)
        self.sync.failed.connect(self.statusBar().showMessage)
        self.crl_watch.read.connect(self._show_crl)
        self.crl_watch.ticked.connect(self.registrations.times_passed)  # expiry marks follow the clock
        self.certificates.done.connect(self._done)
        self.certificates.failed.connect(self._show_failure)
        self.certificates.revoked.connect(self.crl_watch.poll)
        for actions in (self.bulk, self.preauthorizations_tab):
            actions.done.connect(self._done)
            actions.failed.connect(self._show_failure)
        # Every change to pre-authorisations (here, from the command line, a device using one) is audited.
        self.audit.rowsInserted.connect(self.preauthorizations_tab.refresh)
        self.crl_watch.ticked.connect(self.preauthorizations_tab.refresh)  # expiry follows the clock
        self.registrations.changed.connect(self._show_pending_count)
        tab = self.registrations_tab
        tab.review_requested.connect(self.review)
        tab.export_requested.connect(self.certificates.export)
        tab.revoke_requested.connect(self.certificates.revoke)
        tab.delete_requested.connect(self.delete)
        tab.grant_selected_requested.connect(self.bulk.grant)
        tab.reject_selected_requested.connect(self.bulk.reject)
        tab.filter_changed.connect(lambda status: self.settings.setValue(FILTER_KEY, status or "all"))
        self._add_shortcuts()
        self._restore_settings()

    def _add_shortcuts(self) -> None:
        """Window-wide keys; the table's own actions (Enter, Ctrl+E, Delete) live on its tab."""
        def add(text: str, key: str, slot) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        panel = self.state_panel
        self.open_action = add(OPEN_TEXT.replace("&", ""), "Ctrl+O", lambda: panel.can_open() and self.open_registry())
        self.lock_action = add("Lock now", "Ctrl+L", lambda: panel.can_lock() and self.lock_registry())
        self.registrations_action = add("Registrations", "Ctrl+1", lambda: self.show_tab(0))
        self.audit_action = add("Audit log", "Ctrl+2", lambda: self.show_tab(1))
        self.preauthorizations_action = add("Pre-authorised", "Ctrl+3", lambda: self.show_tab(2))

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)
        self.tabs.currentWidget().setFocus()
        if index in (0, 2):
            self.tabs.currentWidget().table.setFocus()

    # ------------------------------------------------------------ life

    def start(self) -> None:
        """Begin reading the registry; the first read fills the table."""
        self.sync.start()
        self.preauthorizations_tab.refresh()
        self.crl_watch.start()
        self.registrations_tab.table.setFocus()  # arrows, Enter, Ctrl+E and Delete work at once

    def shutdown(self) -> None:
        """Stop timers and wait for background work; nothing is delivered afterwards."""
        self.sync.stop()
        self.crl_watch.stop()
        self.state_panel.stop()
        self.tasks.stop()
        if self.tray is not None:
            self.tray.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(COLUMNS_KEY, self.registrations_tab.table.horizontalHeader().saveState())
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)

    def _restore_settings(self) -> None:
        geometry = self.settings.value(GEOMETRY_KEY)
        if not (isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry)):
            fit_to_screen(self, PREFERRED_SIZE)
        columns = self.settings.value(COLUMNS_KEY)
        if isinstance(columns, QByteArray) and not columns.isEmpty():
            self.registrations_tab.table.horizontalHeader().restoreState(columns)
        status = self.settings.value(FILTER_KEY, "all")
        self.registrations_tab.set_filter(None if status == "all" else status)

    # ------------------------------------------------------------ registry state

    def open_registry(self) -> None:
        self._change_state(lambda: self.service.open(self.actor, DEFAULT_OPEN_SECONDS))

    def lock_registry(self) -> None:
        self._change_state(lambda: self.service.lock(self.actor))

    def _change_state(self, work) -> None:
        self.state_panel.set_busy(True)

        def done(status: RegistryStatus) -> None:
            self.state_panel.set_busy(False)
            self.state_panel.show_status(status)
            self.sync.poll()

        def failed(error: Exception) -> None:
            self.state_panel.set_busy(False)
            self._show_failure(error)

        self.tasks.run(work, done, failed)

    # ------------------------------------------------------------ registrations

    def review(self, summary: RegistrationSummary) -> None:
        """Read the request's details in the background, then ask the administrator."""
        username = summary.username
        self.tasks.run(lambda: self.service.details(username), self._ask_review, self._show_failure)

    def _ask_review(self, details: RegistrationDetails) -> None:
        # The dialog watches the table: a request decided or deleted meanwhile is told at once.
        decision = ReviewDialog.ask(self, details, self.registrations)
        if decision is not None:
            self.decide(details.username, decision)

    def decide(self, username: str, decision: ReviewDecision) -> None:
        """Carry out a review decision: grant exactly what stayed ticked, or reject; either
        applies to the request the dialog showed, and is refused if that one was replaced."""
        service, actor = self.service, self.actor
        if decision.action == GRANT:
            def work():
                return service.grant(username, actor, roles=decision.roles, permissions=decision.permissions,
                                     sans=decision.sans, expected_fingerprint=decision.expected_fingerprint,
                                     reviewed=decision.reviewed)

            def done(granted: Decision) -> None:
                issued = f": certificate serial {granted.certificate_serial}" if granted.certificate_serial else ""
                self._done(f"Granted {shown(username)}{issued}")
        else:
            def work():
                service.reject(username, actor, decision.reason, reviewed=decision.reviewed)

            def done(_: None) -> None:
                self._done(f"Rejected {shown(username)}")
        self.tasks.run(work, done, self._show_failure)

    def delete(self, summary: RegistrationSummary) -> None:
        if not prompts.confirm_delete(self, summary.username, summary.status):
            return
        username, service, actor = summary.username, self.service, self.actor

        def deleted(_: None) -> None:
            self._done(f"Deleted {shown(username)}")
            self.crl_watch.poll()  # a granted client's certificates were revoked with it

        self.tasks.run(lambda: service.delete(username, actor), deleted, self._show_failure)

    # ------------------------------------------------------------ telling the administrator

    def _done(self, message: str) -> None:
        self.statusBar().showMessage(message, NOTICE_MS)
        self.sync.poll()

    def _show_failure(self, error: Exception) -> None:
        """An action the administrator asked for failed: tell them where they look, not only in the status bar."""
        text = failure_text(error)
        self.statusBar().showMessage(text, NOTICE_MS)
        prompts.tell_failure(self, text)

    def _show_crl(self, facts: CrlFacts) -> None:
        self.crl_label.setText(crl_text(facts))

    def _loaded(self) -> None:
        pending = self.registrations.count(PENDING)
        self.statusBar().showMessage(f"{pending} pending request{'s' if pending != 1 else ''} waiting for review"
                                     if pending else "Ready", NOTICE_MS)

    def _announce(self, rows: list[RegistrationSummary]) -> None:
        names = ", ".join(shown(row.username) for row in rows[:3]) + (" …" if len(rows) > 3 else "")
        message = f"New request{'s' if len(rows) > 1 else ''} waiting for review: {names}"
        self.statusBar().showMessage(message, NOTICE_MS)
        QApplication.alert(self)
        if self.tray is not None:
            self.tray.showMessage("Client Registry", message, QSystemTrayIcon.MessageIcon.Information, NOTICE_MS)

    def _show_pending_count(self) -> None:
        pending = self.registrations.count(PENDING)
        title = f"{REGISTRATIONS_TITLE} ({pending} pending)" if pending else REGISTRATIONS_TITLE
        if title != self.tabs.tabText(0):  # most changes (a poll time, a grant's serial) leave the count as it was
            self.tabs.tabBar().setTabText(0, title)

    def _make_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(icon("app"), self)
        tray.setToolTip("Client Registry")
        tray.activated.connect(lambda _: (self.showNormal(), self.raise_(), self.activateWindow()))
        tray.show()
        return tray
