"""GUI-only fixtures: the real main window over the real registry and HTTPS server,
with its settings in a temporary file (never the user's own)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from gui.main_window import MainWindow


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
