"""GUI-only fixtures: the real main window over the real registry and HTTPS server,
with its settings in a temporary file (never the user's own)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.theme import LIGHT, apply_theme


@pytest.fixture(autouse=True)
def themed(qapp):
    """The window as users see it: the app's own style, palette and style sheet (light
    unless a test asks for dark; whatever the test chose is undone after it)."""
    apply_theme(qapp, LIGHT)
    yield qapp
    apply_theme(qapp, LIGHT)


def settle() -> None:
    """Let Qt carry out the layout requests a resize or a new text posted."""
    for _ in range(3):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "window-settings.ini"


@pytest.fixture
def settings(settings_file) -> QSettings:
    return QSettings(str(settings_file), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, service, server, settings) -> MainWindow:
    """The started main window; torn down (timers stopped, worker drained) before the server stops."""
    main_window = MainWindow(service, server.url, settings)
    qtbot.addWidget(main_window)
    main_window.show()
    main_window.start()
    qtbot.waitUntil(main_window.state_panel.toggle_button.isEnabled)  # the first read has arrived
    yield main_window
    main_window.shutdown()
