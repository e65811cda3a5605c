"""A client's certificates, oldest first: which one is current, which were superseded
by a renewal, revoked (and why) or ran out. Shown in the details of a granted client."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QGroupBox, QSizePolicy, QTableView, QVBoxLayout

from gui.display import local_time
from gui.table_model import ListTableModel
from server.lifecycle import CURRENT, REVOKED, CertificateView

STATE, EXPIRES, ISSUED, SERIAL = range(4)
SUPERSEDED = "superseded"  # a revocation reason, shown as a state of its own: a renewal, not an incident
VISIBLE_ROWS = 4


def state_text(certificate: CertificateView) -> str:
    """current, expired, superseded, or "revoked (keyCompromise)": the reason is half the story."""
    if certificate.state != REVOKED:
        return certificate.state
    if certificate.revocation_reason == SUPERSEDED:
        return SUPERSEDED
    return f"revoked ({certificate.revocation_reason or 'unspecified'})"


def _summary(certificate: CertificateView) -> str:
    lines = [f"Serial {certificate.serial}: {state_text(certificate)}",
             f"Issued {local_time(certificate.issued_at)}", f"Valid until {local_time(certificate.not_after)}"]
    if certificate.revoked_at is not None:
        lines.append(f"Revoked {local_time(certificate.revoked_at)}, reason {certificate.revocation_reason}")
    return "\n".join(lines)


class CertificatesModel(ListTableModel):
    """One row per certificate issued to a client; read-only."""

    HEADERS = ("State", "Expires", "Issued", "Serial")

    def __init__(self, certificates: Sequence[CertificateView] = (), parent=None):
        super().__init__(parent)
        self._rows: list[CertificateView] = list(certificates)

    def certificate(self, row: int) -> CertificateView:
        return self._rows[row]

    def display(self, certificate: CertificateView, column: int) -> str:
        if column == STATE:
            return state_text(certificate)
        if column == EXPIRES:
            return local_time(certificate.not_after)[:10]
        if column == ISSUED:
            return local_time(certificate.issued_at)[:10]
        return certificate.serial

    def styled(self, certificate: CertificateView, column: int, role: int):
        if role == Qt.ItemDataRole.ToolTipRole:
            return _summary(certificate)
        if role == Qt.ItemDataRole.FontRole and column == STATE and certificate.state == CURRENT:
            font = QFont()  # the application's font, made bold: the current one is the one that matters
            font.setBold(True)
            return font
        return None


def history_group(certificates: Sequence[CertificateView]) -> tuple[QGroupBox, QTableView]:
    """The "Certificates" box and its table: newest last, each row's whole story in its tooltip."""
    box = QGroupBox(f"Certificates ({len(certificates)})")
    table = QTableView()
    table.setObjectName("certificateHistory")
    model = CertificatesModel(certificates, table)
    table.setModel(model)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.resizeColumnsToContents()
    # A table is Expanding by default: its box would take the column's spare height, the rows afloat in it.
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    table.ensurePolished()
    rows = max(1, min(len(certificates), VISIBLE_ROWS))
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows * table.verticalHeader().defaultSectionSize()
                         + 2 * table.frameWidth() + 18)  # room for a horizontal scroll bar: serials are long
    if certificates:
        table.scrollToBottom()  # the newest
    layout = QVBoxLayout(box)
    layout.addWidget(table)
    return box, table
