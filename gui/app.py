"""The admin window's application: Qt set up, checked and shown.

``main.py`` wires the registry (storage, core, server, chores) and hands the
running service to ``show_window``; nothing here opens a database or a socket.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from gui import prompts
from gui.binding_check import BROKEN_BINDING, binding_leaks, qt_signal_emitter
from gui.main_window import MainWindow
from gui.platform_check import display_problem
from gui.theme import apply_theme
from server.service import RegistrationService

log = logging.getLogger(__name__)

APP_NAME = "Client Registry"
# Python runs signal handlers only between bytecodes; while Qt's event loop
# sits in C++ it never gets there, so a timer wakes the interpreter this often.
SIGNAL_CHECK_MS = 200


def start_application() -> QApplication | None:
    """The Qt application, themed; None (told in one line) when there is no display
    to open a window on, or the Qt binding loses references (a crash within minutes)."""
    problem = None if QApplication.instance() else display_problem(os.environ)
    if problem:  # Qt would abort the process; say what is missing instead
        log.error("cannot start: %s", problem)
        return None
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    apply_theme(app)
    if binding_leaks(qt_signal_emitter()):
        cannot_start(BROKEN_BINDING)
        return None
    return app


def show_window(app: QApplication, service: RegistrationService, agent_urls: list[str]) -> int:
    """The window over ``service`` until it is closed; stopped cleanly whatever happens."""
    service.release_connection()  # from here on only the worker threads touch the database
    window = MainWindow(service, agent_urls, QSettings())
    try:
        window.show()
        window.start()
        return app.exec()
    finally:
        window.shutdown()


def cannot_start(reason: str) -> int:
    """One line in the log, and a message box for whoever started the window from a desktop."""
    log.error("cannot start: %s", reason)
    prompts.tell_cannot_start(reason)
    return 1


def close_on_signals(app: QApplication) -> QTimer:
    """Ctrl-C and SIGTERM close the windows as their close buttons would (settings saved).

    The close is posted to the event loop, so a signal that comes before the
    loop runs closes the window as soon as it is shown."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, app.closeAllWindows))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(SIGNAL_CHECK_MS)
    return wake

