"""The review dialog: everything about one request, Grant / Reject / Cancel.

``ReviewDialog.ask`` is the seam: it returns the decision as plain values (or
None), so the main window's tests can patch one function instead of driving a
modal loop, while the dialog's own tests drive its widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.certificate_history import history_group
from gui.display import permission_text, plain_label, shown
from gui.fit import fit_to_screen
from gui.icons import icon
from gui.registrations_model import RegistrationsModel
from gui.review_sections import (
    PlanGroup,
    csr_group,
    decision_group,
    group,
    request_group,
    tick_list,
    ticked_values,
)
from server.csr import SubjectAltName
from server.service import MAX_REASON_CHARS
from server.statuses import PENDING
from server.validation import Permission
from server.views import RegistrationDetails, ReviewedRequest

GRANT, REJECT = "grant", "reject"
PREFERRED_SIZE = QSize(980, 720)


@dataclass(frozen=True)
class ReviewDecision:
    """What the administrator chose; ``grant`` carries only what stayed ticked."""

    action: str  # GRANT or REJECT
    reviewed: ReviewedRequest | None = None  # the request shown: the decision applies to it or to nothing
    roles: tuple[str, ...] = ()
    permissions: tuple[Permission, ...] = ()
    sans: tuple[SubjectAltName, ...] = ()
    expected_fingerprint: str | None = None  # the key that was reviewed is the key that gets signed
    reason: str = ""


class ReviewDialog(QDialog):
    def __init__(self, details: RegistrationDetails, parent: QWidget | None = None,
                 registrations: RegistrationsModel | None = None):
        """``registrations``: the window's table, watched so that a request decided or
        deleted while the dialog is open is told here instead of failing on Grant."""
        super().__init__(parent)
        self._details = details
        self._registrations = registrations
        self._decision: ReviewDecision | None = None
        self.reviewable = details.status == PENDING
        self.setWindowTitle(("Review " if self.reviewable else "Registration ") + shown(details.username))
        self.setWindowIcon(icon("review"))

        heading = plain_label(f"{'Pending request' if self.reviewable else details.status.capitalize()}: "
                              f"{shown(details.username)}", selectable=False)
        heading.setObjectName("dialogHeading")

        checkable = self.reviewable
        self.role_list = tick_list(((shown(role), role) for role in details.roles), True, checkable)
        self.permission_list = tick_list(((permission_text(p), p) for p in details.permissions), True, checkable)
        asked, asked_form = group(
            "Requested roles and permissions",
            ("Roles", self.role_list if details.roles else "none"),
            ("Permissions", self.permission_list if details.permissions else "none"),
        )
        if checkable:  # a row, not the title: a title cannot wrap on a narrow screen
            hint = plain_label("Untick what not to grant.", selectable=False)
            hint.setObjectName("muted")
            asked_form.insertRow(0, hint)
        csr_box, csr_widgets = csr_group(details.csr)
        self.subject_labels = csr_widgets.get("subject", [])
        self.fingerprint_label = csr_widgets.get("fingerprint")
        self.san_list = csr_widgets.get("sans")

        self.plan_group: PlanGroup | None = None
        right: list[QWidget] = []
        if self.reviewable:
            self.plan_group = PlanGroup(details, details.plan)
            right.append(self.plan_group)
        else:
            right.append(decision_group(details))
        self.history_table = None
        if details.certificates:  # current, superseded, revoked, expired: the client's whole record
            history_box, self.history_table = history_group(details.certificates)
            right.append(history_box)
        # Each column scrolls on its own, and only when the screen is too small for it:
        # the buttons below stay in reach whatever the screen.
        columns = QHBoxLayout()
        request_box = request_group(details)
        self.pairing_label = request_box.findChild(QLabel, "pairingCode")
        columns.addWidget(_scrolling(request_box, asked, csr_box), 3)
        columns.addWidget(_scrolling(*right), 2)

        # What the core asks to look at twice (look-alike roles, far-reaching wildcards),
        # above everything else: easy to miss in a list of ticked permissions.
        self.warnings_notice = plain_label("\n".join(f"⚠ {shown(text)}" for text in details.warnings),
                                           selectable=False)
        self.warnings_notice.setObjectName("reviewWarnings")
        self.warnings_notice.setWordWrap(True)
        self.warnings_notice.setVisible(bool(details.warnings) and self.reviewable)

        self.stale_notice = plain_label("", selectable=False)
        self.stale_notice.setObjectName("staleNotice")
        self.stale_notice.setWordWrap(True)
        self.stale_notice.hide()

        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Reason for rejecting (optional; the agent is told)")
        self.reason_edit.setMaxLength(MAX_REASON_CHARS)
        self.grant_button = QPushButton(icon("granted"), "&Grant")
        self.grant_button.setObjectName("grantButton")
        self.reject_button = QPushButton(icon("rejected"), "&Reject")
        self.cancel_button = QPushButton("Cancel" if self.reviewable else "Close")
        for button in (self.grant_button, self.reject_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter must never grant by accident
        self.grant_button.clicked.connect(lambda: self._decide(GRANT))
        self.reject_button.clicked.connect(lambda: self._decide(REJECT))
        self.cancel_button.clicked.connect(self.reject)
        # Enter in the reason field confirms the rejection it was typed for.
        self.reason_edit.returnPressed.connect(self.reject_button.click)

        buttons = QHBoxLayout()
        if self.reviewable:
            buttons.addWidget(self.reason_edit, 1)
            buttons.addWidget(self.reject_button)
            buttons.addSpacing(16)
        else:
            buttons.addStretch()
        buttons.addWidget(self.cancel_button)
        if self.reviewable:
            buttons.addWidget(self.grant_button)
        self.grant_button.setVisible(self.reviewable)
        self.reject_button.setVisible(self.reviewable)
        self.reason_edit.setVisible(self.reviewable)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.warnings_notice)
        layout.addWidget(self.stale_notice)
        layout.addLayout(columns, 1)
        layout.addLayout(buttons)
        fit_to_screen(self, PREFERRED_SIZE)
        # Watched by the id of the request shown: ids are never reused, so a request
        # deleted and sent anew under the same name (an impostor, say) is another row.
        self._watched_id = details.reviewed.id
        if registrations is not None and self.reviewable:
            if registrations.find(self._watched_id) is not None:
                registrations.changed.connect(self._check_still_pending)
            elif registrations.find_username(details.username) is not None:
                self._check_still_pending(connected=False)  # the table already holds another request

        for tick_widget in (self.role_list, self.permission_list, self.san_list):
            if tick_widget is not None:
                tick_widget.itemChanged.connect(self._show_plan)
        self._show_plan()

    @classmethod
    def ask(cls, parent: QWidget | None, details: RegistrationDetails,
            registrations: RegistrationsModel | None = None) -> ReviewDecision | None:
        """Show the dialog modally; the decision, or None when cancelled."""
        dialog = cls(details, parent, registrations)
        try:
            dialog.exec()
            return dialog.decision
        finally:
            dialog.deleteLater()

    @property
    def decision(self) -> ReviewDecision | None:
        return self._decision

    def chosen(self, action: str) -> ReviewDecision:
        """The decision the dialog would return for ``action`` with the current ticks."""
        reviewed = self._details.reviewed
        if action == REJECT:
            return ReviewDecision(REJECT, reviewed, reason=self.reason_edit.text().strip())
        csr = self._details.csr
        return ReviewDecision(
            GRANT,
            reviewed,
            roles=ticked_values(self.role_list),
            permissions=ticked_values(self.permission_list),
            sans=ticked_values(self.san_list) if self.san_list is not None else (),
            expected_fingerprint=csr.key_fingerprint if csr else None,
        )

    def _decide(self, action: str) -> None:
        self._decision = self.chosen(action)
        self.accept()

    def _check_still_pending(self, connected: bool = True) -> None:
        """The table changed: if this request was decided, deleted or replaced meanwhile
        (by the admin CLI, another window, expiry), say so and take Grant and Reject away."""
        now = self._registrations.find(self._watched_id)
        if now is not None and now.status == PENDING:
            return
        if now is not None:
            what = now.status
        elif self._registrations.find_username(self._details.username) is not None:
            what = "deleted and requested anew"
        else:
            what = "deleted"
        self.stale_notice.setText(f"{shown(self._details.username)} was {what} meanwhile (by another "
                                  "administrator, the command line or expiry); there is nothing left to decide.")
        self.stale_notice.show()
        for widget in (self.grant_button, self.reject_button, self.reason_edit):
            widget.setEnabled(False)
        self.cancel_button.setText("Close")
        self.cancel_button.setFocus()
        if connected:
            self._registrations.changed.disconnect(self._check_still_pending)

    def _show_plan(self) -> None:
        if self.plan_group is not None:
            grant = self.chosen(GRANT)
            self.plan_group.show_choice(grant.roles, grant.permissions, grant.sans)


def _scrolling(*boxes: QWidget) -> QScrollArea:
    """``boxes`` stacked, in a frameless area that scrolls when they do not fit."""
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.setContentsMargins(0, 0, 4, 0)
    for box in boxes:
        column.addWidget(box)
    column.addStretch()
    scroller = QScrollArea()
    scroller.setWidgetResizable(True)
    scroller.setWidget(inner)
    scroller.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroller
