"""Keeping the window in step with the database.

The database is the single source of truth: the HTTPS server, this window and
the admin command line (in other processes) all write it. So the window polls
it in the background, asking only for what changed since the revision it last
saw, and applies that to its models incrementally.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from gui.audit_model import MAX_ROWS as AUDIT_ROWS, AuditModel
from gui.periodic import PeriodicRead
from gui.registrations_model import RegistrationsModel
from gui.tasks import BackgroundTasks
from server.service import RegistrationService
from server.views import AuditRecord, Changes, RegistryStatus
from server.statuses import PENDING

log = logging.getLogger(__name__)

# Fast enough that a new request shows within a second, slow enough to be idle.
POLL_INTERVAL_MS = 400


@dataclass(frozen=True)
class _Snapshot:
    status: RegistryStatus
    changes: Changes
    audit: list[AuditRecord]


def _read(service: RegistrationService, revision: int, audit_after: int) -> _Snapshot:
    """Runs on the worker thread: reads only, touches no widget."""
    return _Snapshot(
        service.status(),
        service.changes_since(revision),
        service.audit_log(AUDIT_ROWS if audit_after == 0 else None, after_id=audit_after),
    )


class RegistrySync(PeriodicRead):
    """Polls what changed and applies it to the registrations and audit models."""

    status_read = Signal(object)  # RegistryStatus
    pending_arrived = Signal(list)  # RegistrationSummary rows of new pending requests
    loaded = Signal()  # the first read is in the models
    failed = Signal(str)  # a read failed; the next poll tries again

    def __init__(self, service: RegistrationService, tasks: BackgroundTasks, registrations: RegistrationsModel,
                 audit: AuditModel, interval_ms: int = POLL_INTERVAL_MS, parent: QObject | None = None):
        super().__init__(interval_ms, parent)
        self._service, self._tasks = service, tasks
        self._registrations, self._audit = registrations, audit
        self._revision = 0
        self._reading = False
        self._read_again = False
        self._loaded = False

    def poll(self) -> None:
        """Read what changed now (or right after the read in progress)."""
        if self._reading:
            self._read_again = True
            return
        self._reading, self._read_again = True, False
        service, revision, audit_after = self._service, self._revision, self._audit.newest_id
        self._tasks.run(lambda: _read(service, revision, audit_after), self._apply, self._read_failed)

    def _apply(self, snapshot: _Snapshot) -> None:
        self._reading = False
        self.status_read.emit(snapshot.status)
        added = self._registrations.apply(snapshot.changes.changed)
        self._revision = snapshot.changes.revision
        self._audit.add_newest(snapshot.audit)
        if snapshot.changes.total < self._registrations.rowCount():
            # Deletions leave no changed row behind; only the count tells. The
            # id read is queued behind this one, so it cannot miss rows shown here.
            self._tasks.run(self._service.registration_ids, self._registrations.keep_only, self._read_failed)
        if not self._loaded:
            self._loaded = True
            self.loaded.emit()
        else:
            arrived = [row for row in added if row.status == PENDING]
            if arrived:
                self.pending_arrived.emit(arrived)
        if self._read_again:
            self.poll()

    def _read_failed(self, error: Exception) -> None:
        self._reading = False
        log.warning("reading the registry failed: %s", error)
        self.failed.emit(f"cannot read the registry right now ({error})")
