"""What the window does with a granted client's certificate: export it, revoke it.

Each asks through the ``gui.prompts`` seams, runs the service call in the
background and reports back as signals: ``done`` with a line for the status
bar, ``failed`` with the error for a message box, ``revoked`` when the CRL
changed, so the window re-reads it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from gui import prompts
from gui.display import shown
from gui.tasks import BackgroundTasks
from server.service import RegistrationService
from server.views import RegistrationDetails, RegistrationSummary


class CertificateActions(QObject):
    done = Signal(str)  # what happened, for the status bar
    failed = Signal(object)  # an Exception: told in a message box
    revoked = Signal()

    def __init__(self, service: RegistrationService, tasks: BackgroundTasks, actor: str, window: QWidget):
        super().__init__(window)
        self._service, self._tasks, self._actor, self._window = service, tasks, actor, window

    def export(self, summary: RegistrationSummary) -> None:
        """Save the client's current certificate where the administrator says."""
        username = summary.username
        self._tasks.run(lambda: self._service.details(username), self._save, self.failed.emit)

    def _save(self, details: RegistrationDetails) -> None:
        if not details.certificate_pem:
            prompts.tell_failure(self._window, f"{shown(details.username)} has no certificate (any more)")
            return
        path = prompts.ask_export_path(self._window, details.username)
        if path is None:
            return
        pem = details.certificate_pem
        self._tasks.run(lambda: Path(path).write_text(pem, encoding="ascii"),
                        lambda _: self.done.emit(f"Certificate exported to {path}"), self.failed.emit)

    def revoke(self, summary: RegistrationSummary) -> None:
        """Revoke the client's current certificate with the reason the administrator picks;
        the client stays granted. A client without a current certificate is refused by the core."""
        reason = prompts.ask_revoke_reason(self._window, summary.username, summary.certificate_serial)
        if reason is None:
            return
        username, service, actor = summary.username, self._service, self._actor

        def revoked(serial: str) -> None:
            self.done.emit(f"Revoked certificate {serial} of {shown(username)} ({reason}); the CRL lists it")
            self.revoked.emit()

        self._tasks.run(lambda: service.revoke(username, actor, reason), revoked, self.failed.emit)
