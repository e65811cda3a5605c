"""The registry's state at a glance: Locked, or Open with a live mm:ss countdown,
the Open/Lock button, the listening address and the CA fingerprint."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QToolButton, QVBoxLayout

from gui.display import countdown, spaced_hex, plain_label
from gui.icons import icon
from server.views import RegistryStatus

OPEN_TEXT = "Open for 5 minutes"
LOCK_TEXT = "Lock now"
TICK_MS = 250


class RegistryStatePanel(QFrame):
    """Counts down from the last known deadline with the service's clock: no
    database read per tick. The server decides from the stored deadline, so
    showing Locked at zero is a display matter only."""

    open_requested = Signal()
    lock_requested = Signal()
    copied = Signal(str)  # what was copied, for the status bar

    def __init__(self, clock: Callable[[], float], url: str, ca_fingerprint: str, parent=None):
        super().__init__(parent)
        self.setObjectName("statePanel")
        self._clock = clock
        self._open_until: float | None = None
        self._known = False  # nothing read yet: the button waits for the first status
        self._busy = False
        self._shown_state = ""
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._show_time_left)

        self.state_icon = plain_label(selectable=False)
        self.state_label = plain_label("…", selectable=False)
        self.state_label.setObjectName("stateTitle")
        self.countdown_label = plain_label("", selectable=False)
        self.countdown_label.setObjectName("countdown")
        self.explanation_label = plain_label("Reading the registry…", selectable=False)
        self.explanation_label.setObjectName("muted")
        self.toggle_button = QPushButton(OPEN_TEXT)
        self.toggle_button.setObjectName("toggleButton")
        self.toggle_button.setEnabled(False)
        self.toggle_button.clicked.connect(self._toggle)

        self.address_label = plain_label(_address_text(url))
        self.fingerprint_label = plain_label(spaced_hex(ca_fingerprint), monospace=True)
        self.fingerprint_label.setWordWrap(True)
        self._fingerprint = ca_fingerprint
        self.copy_button = QToolButton()
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setToolTip("Copy the CA fingerprint")
        self.copy_button.clicked.connect(self._copy_fingerprint)

        state = QHBoxLayout()
        state.addWidget(self.state_icon)
        titles = QVBoxLayout()
        title_row = QHBoxLayout()
        title_row.addWidget(self.state_label)
        title_row.addWidget(self.countdown_label)
        title_row.addStretch()
        titles.addLayout(title_row)
        titles.addWidget(self.explanation_label)
        state.addLayout(titles, 1)
        state.addWidget(self.toggle_button)

        facts = QGridLayout()
        facts.setHorizontalSpacing(10)
        for row, (caption, widget) in enumerate((("Listening on", self.address_label),
                                                  ("CA fingerprint", self.fingerprint_label))):
            caption_label = plain_label(caption, selectable=False)
            caption_label.setObjectName("caption")
            facts.addWidget(caption_label, row, 0)
            facts.addWidget(widget, row, 1)
        facts.addWidget(self.copy_button, 1, 2)
        facts.setColumnStretch(1, 1)

        layout = QHBoxLayout(self)
        layout.addLayout(state, 5)
        divider = QFrame()
        divider.setFrameShape(QFrame.Shape.VLine)
        divider.setObjectName("divider")
        layout.addWidget(divider)
        layout.addLayout(facts, 6)

    @property
    def is_open(self) -> bool:
        return self._open_until is not None and self._open_until > self._clock()

    def show_status(self, status: RegistryStatus) -> None:
        """Take the stored deadline as read from the database (or returned by open/lock)."""
        self._known = True
        self._open_until = status.open_until if status.is_open else None
        self._show_time_left()

    def set_busy(self, busy: bool) -> None:
        """Disable the button while an open or lock is on its way."""
        self._busy = busy
        self.toggle_button.setEnabled(self._known and not busy)

    def stop(self) -> None:
        self._ticker.stop()

    def _show_time_left(self) -> None:
        if self.is_open:
            left = countdown(self._open_until - self._clock())
            self.countdown_label.setText(left)
            self.explanation_label.setText(f"Accepting new requests for {left}; locks itself when the time is up.")
            if not self._ticker.isActive():
                self._ticker.start()
            self._show_state("open", "Open", LOCK_TEXT)
        else:
            self._ticker.stop()
            self.countdown_label.setText("")
            self.explanation_label.setText("New requests are refused; pending requests can still be reviewed.")
            self._show_state("locked", "Locked", OPEN_TEXT)
        self.toggle_button.setEnabled(self._known and not self._busy)

    def _show_state(self, state: str, title: str, button_text: str) -> None:
        if state == self._shown_state:
            return
        self._shown_state = state
        self.state_label.setText(title)
        self.toggle_button.setText(button_text)
        self.state_icon.setPixmap(icon(state).pixmap(36, 36))
        for widget in (self, self.state_label, self.countdown_label):
            widget.setProperty("state", state)
            # Re-apply the style sheet so that rules keyed on the "state" property take effect.
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _toggle(self) -> None:
        (self.lock_requested if self.is_open else self.open_requested).emit()

    def _copy_fingerprint(self) -> None:
        QGuiApplication.clipboard().setText(self._fingerprint)  # plain hex, as `admin ca` prints it
        self.copied.emit("CA fingerprint")


def _address_text(url: str) -> str:
    """The URL the server logged; a wildcard host is spelled out for the administrator."""
    if urlsplit(url).hostname in ("0.0.0.0", "::"):
        return f"{url}  (all network interfaces)"
    return url
