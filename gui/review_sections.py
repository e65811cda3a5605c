"""The parts of the review dialog: what was asked for, the CSR's facts, what will be
issued. Every value from the request goes in through ``shown`` into plain-text widgets."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QWidget,
)

from gui.display import (
    context_text,
    local_time,
    permission_text,
    plain_label,
    shown,
    spaced_hex,
)
from server.ca import IssuancePlan
from server.csr import CsrReview
from server.statuses import GRANTED, VIA_EST
from server.views import RegistrationDetails

VALUE_ROLE = Qt.ItemDataRole.UserRole


def group(title: str, *rows: tuple[str, QWidget | str]) -> tuple[QGroupBox, QFormLayout]:
    """A titled form; string values become plain, selectable labels."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # captions above values when narrow
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    for caption, value in rows:
        add_row(form, caption, value)
    return box, form


def add_row(form: QFormLayout, caption: str, value: QWidget | str) -> QWidget:
    if isinstance(value, str):
        value = plain_label(value)
        value.setWordWrap(True)
    caption_label = plain_label(caption, selectable=False)
    caption_label.setObjectName("caption")
    form.addRow(caption_label, value)
    return value


def tick_list(items: Iterable[tuple[str, object]], ticked: bool, checkable: bool = True) -> QListWidget:
    """One row per (text, value); list items are plain text, so ``&`` and tags stay literal."""
    widget = QListWidget()
    widget.setObjectName("tickList")
    for text, value in items:
        item = QListWidgetItem(text)
        item.setData(VALUE_ROLE, value)
        if checkable:
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        else:
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        widget.addItem(item)
    widget.ensurePolished()  # the style sheet's item padding counts in the row height
    rows = max(1, min(widget.count(), 6))
    widget.setFixedHeight(rows * widget.sizeHintForRow(0) + 2 * widget.frameWidth() + 4)
    return widget


def ticked_values(widget: QListWidget) -> tuple:
    return tuple(widget.item(row).data(VALUE_ROLE) for row in range(widget.count())
                 if widget.item(row).checkState() == Qt.CheckState.Checked)


def request_group(details: RegistrationDetails) -> QGroupBox:
    context = QPlainTextEdit(context_text(details.context) or "none given")
    context.setReadOnly(True)
    context.setMaximumHeight(90)
    pairing = plain_label(details.pairing_code or "none (sent before pairing codes)", monospace=True)
    pairing.setObjectName("pairingCode")
    pairing.setToolTip("The code the enrolment tool printed at the device: compare it with the technician's")
    box, _ = group(
        "Request",
        ("Username", shown(details.username)),
        ("Pairing code", pairing),
        ("Source address", shown(details.source_address)),
        ("Requested at", local_time(details.requested_at)),
        ("Last poll", f"{local_time(details.last_poll_at)} from {shown(details.last_poll_address)}"),
        ("Failed password attempts", str(details.failed_attempts)),
        ("Enrolled via", "EST" if details.enrolled_via == VIA_EST else "API"),
        ("Context", context),
    )
    return box


def csr_group(csr: CsrReview | None) -> tuple[QGroupBox, dict[str, QWidget]]:
    """The CSR attribute by attribute; returns the widgets tests and the dialog look at."""
    if csr is None:
        box, _ = group("Certificate signing request",
                       ("CSR", "none sent: the client gets a password only, no certificate"))
        return box, {}
    box, form = group("Certificate signing request")
    subject_labels = [(name, add_row(form, f"Subject {name}", shown(value))) for name, value in csr.subject]
    add_row(form, "Key", csr.key_description)
    add_row(form, "Signature", csr.signature_algorithm)
    fingerprint = plain_label(spaced_hex(csr.key_fingerprint), monospace=True)
    fingerprint.setWordWrap(True)
    fingerprint.setToolTip("SHA-256 over the key's DER SubjectPublicKeyInfo; compare it with the device")
    add_row(form, "Key fingerprint", fingerprint)
    sans = tick_list(((shown(san), san) for san in csr.sans), ticked=False)
    add_row(form, "Subject alt. names", sans if csr.sans else plain_label("none asked for"))
    never = [*csr.other_sans, *csr.requested_extensions]
    if never:
        add_row(form, "Never issued", "\n".join(shown(text) for text in never))
    return box, {"subject": subject_labels, "fingerprint": fingerprint, "sans": sans}


class PlanGroup(QGroupBox):
    """What a grant will issue, following the ticks as the admin changes them."""

    def __init__(self, details: RegistrationDetails, plan: IssuancePlan | None):
        super().__init__("Will be issued")
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        add_row(form, "Username", shown(details.username))
        add_row(form, "Password", "the one sent with the request")
        self.roles_label = add_row(form, "Roles", "")
        self.permissions_label = add_row(form, "Permissions", "")
        self.sans_label: QLabel | None = None
        if plan is None:
            add_row(form, "Certificate", "none (no CSR)")
            return
        add_row(form, "Subject", f"CN={shown(plan.common_name)}")
        add_row(form, "Valid from", local_time(plan.not_before.timestamp()))
        add_row(form, "Valid until", local_time(plan.not_after.timestamp()))
        add_row(form, "Basic constraints", "CA:FALSE")
        add_row(form, "Key usage", ", ".join(plan.key_usage))
        add_row(form, "Extended key usage", ", ".join(plan.extended_key_usage))
        self.sans_label = add_row(form, "Subject alt. names", "")

    def show_choice(self, roles: tuple[str, ...], permissions: tuple, sans: tuple) -> None:
        self.roles_label.setText(", ".join(shown(role) for role in roles) or "none")
        self.permissions_label.setText("\n".join(permission_text(p) for p in permissions) or "none")
        if self.sans_label is not None:
            self.sans_label.setText(", ".join(shown(san) for san in sans) or "none")


def decision_group(details: RegistrationDetails) -> QGroupBox:
    """For a decided registration: who decided what, and what was granted."""
    rows: list[tuple[str, str]] = [
        ("Status", details.status.capitalize()),
        ("Decided", f"{local_time(details.decided_at)} by {shown(details.decided_by)}"),
    ]
    if details.reject_reason:
        rows.append(("Reason", shown(details.reject_reason)))
    if details.status == GRANTED:
        rows.append(("Granted roles", ", ".join(shown(role) for role in details.granted_roles) or "none"))
        rows.append(("Granted permissions",
                     "\n".join(permission_text(p) for p in details.granted_permissions) or "none"))
    if details.certificate_serial:
        rows.append(("Certificate serial", details.certificate_serial))
        rows.append(("Certificate expires", local_time(details.certificate_not_after)))
    box, _ = group("Decision", *rows)
    return box
