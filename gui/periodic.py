"""A reader of the registry that reads now and then every so often, on the window's worker."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer


class PeriodicRead(QObject):
    """``start()`` reads at once and then every ``interval_ms``; subclasses say what ``poll`` reads."""

    def __init__(self, interval_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def poll(self) -> None:
        raise NotImplementedError
