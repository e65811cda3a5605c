"""Sizing windows and dialogs to the screen they open on.

A control-room desktop may be 1024×768, or a larger screen scaled by 1.5 (which
leaves Qt 683×512 logical pixels): a fixed 1280×760 window or 980×680 dialog
would put its buttons beyond the screen's edge, out of reach.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Room for the window manager's title bar and borders, which Qt cannot know before showing.
FRAME_ALLOWANCE = QSize(16, 40)


def available_size(widget: QWidget) -> QSize:
    """What a window's contents may take on ``widget``'s screen: its available area minus the frame."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry().size() - FRAME_ALLOWANCE


def fit_to_screen(widget: QWidget, preferred: QSize) -> QSize:
    """Resize ``widget`` to ``preferred``, or less where the screen is smaller; a
    top-level window without a parent is also centred. The size given."""
    room = available_size(widget)
    size = preferred.boundedTo(room)
    widget.resize(size)
    if widget.parentWidget() is None:
        area = (widget.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        widget.move(area.topLeft() + QPoint(max(0, (area.width() - size.width() - FRAME_ALLOWANCE.width()) // 2),
                                            max(0, (area.height() - size.height() - FRAME_ALLOWANCE.height()) // 2)))
    return size
