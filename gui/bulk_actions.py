"""Granting or rejecting a multi-row selection: read, confirm once, decide, tell per name.

The selected requests' details (key fingerprint, pairing code) are read in the
background and shown in one confirmation (``BulkDecisionDialog.ask``); the
decisions run through ``grant_many``/``reject_many``, each name on its own.
Successes come back as ``done`` (the status bar); refusals, each name with its
reason, in one message box through the ``gui.prompts`` seam.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from gui import prompts
from gui.bulk_dialog import GRANT, REJECT, BulkChoice, BulkDecisionDialog
from gui.display import shown
from gui.tasks import BackgroundTasks
from server.service import Refused, RegistrationService
from server.statuses import PENDING
from server.views import (
    Decision,
    RegistrationDetails,
    RegistrationSummary,
    ReviewedRequest,
)

NAMES_IN_STATUS_BAR = 8


def _read_pending(service: RegistrationService,
                  usernames: Sequence[str]) -> tuple[list[RegistrationDetails], list[str]]:
    """Runs on the worker: the details of those still pending, and the names that are not (any more)."""
    pending, gone = [], []
    for username in usernames:
        try:
            details = service.details(username)
        except Refused:  # deleted meanwhile
            gone.append(username)
            continue
        if details.status == PENDING:
            pending.append(details)
        else:
            gone.append(username)
    return pending, gone


def names_text(usernames: Sequence[str]) -> str:
    shown_names = ", ".join(shown(name) for name in usernames[:NAMES_IN_STATUS_BAR])
    return shown_names + (f" and {len(usernames) - NAMES_IN_STATUS_BAR} more"
                          if len(usernames) > NAMES_IN_STATUS_BAR else "")


def refusals_text(action: str, refused: Sequence[Decision], asked: int) -> str:
    """One line per refused name and its reason, under a line saying how many."""
    verb = "granted" if action == GRANT else "rejected"
    lines = [f"{len(refused)} of {asked} could not be {verb}:"]
    lines += [f"{shown(decision.username)}: {decision.refusal}" for decision in refused]
    return "\n".join(lines)


class BulkActions(QObject):
    done = Signal(str)  # what happened, for the status bar
    failed = Signal(object)  # an Exception: told in a message box

    def __init__(self, service: RegistrationService, tasks: BackgroundTasks, actor: str, window: QWidget):
        super().__init__(window)
        self._service, self._tasks, self._actor, self._window = service, tasks, actor, window

    def grant(self, rows: Sequence[RegistrationSummary]) -> None:
        self._confirm(GRANT, rows)

    def reject(self, rows: Sequence[RegistrationSummary]) -> None:
        self._confirm(REJECT, rows)

    def _confirm(self, action: str, rows: Sequence[RegistrationSummary]) -> None:
        usernames = [row.username for row in rows]
        if not usernames:
            return
        service = self._service
        self._tasks.run(lambda: _read_pending(service, usernames),
                        lambda read: self._ask(action, *read), self.failed.emit)

    def _ask(self, action: str, pending: list[RegistrationDetails], gone: list[str]) -> None:
        if gone:
            prompts.tell_failure(self._window, f"No longer pending (decided or deleted meanwhile), left out: "
                                               f"{names_text(gone)}")
        if not pending:
            return
        choice = BulkDecisionDialog.ask(self._window, action, pending)
        if choice is not None:
            self.decide(choice, {details.username: details.reviewed for details in pending})

    def decide(self, choice: BulkChoice, reviewed: Mapping[str, ReviewedRequest] | None = None) -> None:
        """Carry out a confirmed choice in the background and tell each name's result; with
        ``reviewed``, only the requests that were confirmed are decided (as in the review)."""
        service, actor, usernames = self._service, self._actor, list(choice.usernames)
        if choice.action == GRANT:
            def work() -> list[Decision]:
                return service.grant_many(usernames, actor, reviewed)
        else:
            def work() -> list[Decision]:
                return service.reject_many(usernames, actor, choice.reason or None, reviewed)
        self._tasks.run(work, lambda decisions: self._tell(choice.action, decisions), self.failed.emit)

    def _tell(self, action: str, decisions: list[Decision]) -> None:
        succeeded = [decision.username for decision in decisions if decision.done]
        refused = [decision for decision in decisions if not decision.done]
        verb = "Granted" if action == GRANT else "Rejected"
        self.done.emit(f"{verb} {len(succeeded)}: {names_text(succeeded)}" if succeeded
                       else f"{verb} none of {len(decisions)}")
        if refused:
            prompts.tell_failure(self._window, refusals_text(action, refused, len(decisions)))
