"""The registry's state at a glance: Locked, or Open with a live countdown, the
Open/Lock button, the URLs agents can use and the CA fingerprint.

Nothing in the panel changes size between Open and Locked: a click aimed at a
control must land on it, whatever the state was a moment before. So the button
is as wide as its wider text, the explanation has two lines' room in both
states, and the fingerprint is always two lines of four groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.display import countdown, plain_label, spaced_hex
from gui.icons import icon
from server.service import DEFAULT_OPEN_SECONDS
from server.views import RegistryStatus

OPEN_TEXT = f"&Open for {DEFAULT_OPEN_SECONDS // 60} minutes"
LOCK_TEXT = "&Lock now"
TICK_MS = 250
SHOWN_URLS = 3  # more go to the tooltip: the panel's height must stay small
EXPLANATION_LINES = 2
ICON_SIZE = 36


# The window opened with --no-server: other instances serve the registry it shows.
NOT_SERVING_TEXT = "the registry's instances (this window does not serve)"


class RegistryStatePanel(QFrame):
    """Counts down from the last known deadline with the service's clock: no
    database read per tick. The server decides from the stored deadline, so
    showing Locked at zero is a display matter only."""

    open_requested = Signal()
    lock_requested = Signal()
    copied = Signal(str)  # what was copied, for the status bar

    def __init__(self, clock: Callable[[], float], urls: Sequence[str], ca_fingerprint: str, parent=None):
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
        self.state_icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.state_label = plain_label("…", selectable=False)
        self.state_label.setObjectName("stateTitle")
        self.countdown_label = plain_label("", selectable=False)
        self.countdown_label.setObjectName("countdown")
        self.explanation_label = plain_label("Reading the registry…", selectable=False)
        self.explanation_label.setObjectName("muted")
        self.explanation_label.setWordWrap(True)
        # Its width comes from the layout, never from the text, which differs between states.
        self.explanation_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.explanation_label.setMinimumWidth(200)
        self.toggle_button = QPushButton(OPEN_TEXT)
        self.toggle_button.setObjectName("toggleButton")
        self.toggle_button.setEnabled(False)
        self.toggle_button.clicked.connect(self._toggle)

        self.urls = list(urls)
        self.address_label = plain_label("\n".join(self.urls[:SHOWN_URLS]) or NOT_SERVING_TEXT)
        if len(self.urls) > SHOWN_URLS:
            self.address_label.setText("\n".join(self.urls[:SHOWN_URLS - 1])
                                       + f"\n… and {len(self.urls) - SHOWN_URLS + 1} more (hover to see all)")
            self.address_label.setToolTip("\n".join(self.urls))
        self._fingerprint = ca_fingerprint
        groups = spaced_hex(ca_fingerprint).split(" ")
        self.fingerprint_label = plain_label(" ".join(groups[:4]) + "\n" + " ".join(groups[4:]), monospace=True)
        self.copy_button = QToolButton()
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setToolTip("Copy the CA fingerprint")
        self.copy_button.setAccessibleName("Copy the CA fingerprint")
        self.copy_button.clicked.connect(self._copy_fingerprint)

        self.state_block = QWidget()
        state = QHBoxLayout(self.state_block)
        state.setContentsMargins(0, 0, 0, 0)
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

        self.facts_block = QWidget()
        facts = QGridLayout(self.facts_block)
        facts.setContentsMargins(0, 0, 0, 0)
        facts.setHorizontalSpacing(10)
        for row, (caption, widget) in enumerate((("Agents connect to", self.address_label),
                                                  ("CA fingerprint", self.fingerprint_label))):
            caption_label = plain_label(caption, selectable=False)
            caption_label.setObjectName("caption")
            facts.addWidget(caption_label, row, 0)
            facts.addWidget(widget, row, 1)
        facts.addWidget(self.copy_button, 1, 2)
        facts.setColumnStretch(1, 1)

        self.divider = QFrame()
        self.divider.setFrameShape(QFrame.Shape.VLine)
        self.divider.setObjectName("divider")
        self.divider.setFrameShadow(QFrame.Shadow.Plain)
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(14, 10, 12, 10)
        self._layout.addWidget(self.state_block, 5)
        self._layout.addWidget(self.divider)
        self._layout.addWidget(self.facts_block, 6)
        self._fix_sizes()

    def _fix_sizes(self) -> None:
        """Sizes that must not follow the text: the button's and the explanation's."""
        self.toggle_button.ensurePolished()
        widths = []
        for text in (OPEN_TEXT, LOCK_TEXT):
            self.toggle_button.setText(text)
            widths.append(self.toggle_button.sizeHint().width())
        self.toggle_button.setText(OPEN_TEXT)
        self.toggle_button.setFixedWidth(max(widths))
        self.explanation_label.ensurePolished()
        line = self.explanation_label.fontMetrics().lineSpacing()
        self.explanation_label.setFixedHeight(EXPLANATION_LINES * line + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Side by side where there is room; the facts below the state on a narrow (or scaled) screen."""
        side_by_side = (self.state_block.minimumSizeHint().width() + self.facts_block.minimumSizeHint().width()
                        + 60 <= event.size().width())
        direction = QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        if self._layout.direction() != direction:
            self._layout.setDirection(direction)
            self.divider.setVisible(side_by_side)
        super().resizeEvent(event)

    def minimumSizeHint(self):
        """The stacked layout's width: the panel never forces the window wider than that."""
        hint = super().minimumSizeHint()
        stacked = max(self.state_block.minimumSizeHint().width(), self.facts_block.minimumSizeHint().width())
        margins = self._layout.contentsMargins()
        hint.setWidth(stacked + margins.left() + margins.right())
        return hint

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

    def can_open(self) -> bool:
        return self._known and not self._busy and not self.is_open

    def can_lock(self) -> bool:
        return self._known and not self._busy and self.is_open

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
        self.state_icon.setPixmap(icon(state).pixmap(ICON_SIZE, ICON_SIZE))
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
