"""The certificate revocation list as the window shows it: its number and next update.

Brokers and web servers fetch the CRL (``/api/client-registry/crl``, ``crl.pem``);
the administrator sees which one they get, that it follows a revocation, and that
it is reissued before its next update passes. Read in the background, once a
minute and whenever the window revokes or deletes, never on the GUI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from gui.display import local_time
from gui.periodic import PeriodicRead
from gui.tasks import BackgroundTasks
from server.service import RegistrationService

log = logging.getLogger(__name__)

INTERVAL_MS = 60_000  # the core's chore checks the CRL once a minute too


@dataclass(frozen=True)
class CrlFacts:
    number: int
    next_update: float


def crl_text(facts: CrlFacts) -> str:
    return f"CRL {facts.number} · next update {local_time(facts.next_update)[:16]}"


class CrlWatch(PeriodicRead):
    """Reads the CRL's facts now and every minute; ``read`` carries them (``CrlFacts``)."""

    read = Signal(object)
    ticked = Signal()  # each minute: whatever shows the passing of time may repaint

    def __init__(self, service: RegistrationService, tasks: BackgroundTasks, interval_ms: int = INTERVAL_MS,
                 parent: QObject | None = None):
        super().__init__(interval_ms, parent)
        self._service, self._tasks = service, tasks
        self._timer.timeout.connect(self.ticked)

    def poll(self) -> None:
        """Read the current CRL's facts (after whatever the worker is doing now)."""
        service = self._service

        def facts() -> CrlFacts:  # on the worker: the DER stays there
            crl = service.crl()
            return CrlFacts(crl.number, crl.next_update)

        self._tasks.run(facts, self.read.emit, lambda error: log.warning("reading the CRL failed: %s", error))
