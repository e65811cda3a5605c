"""``python main.py``: the admin window, with the HTTPS server in a worker thread."""

from __future__ import annotations

import argparse
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
from wiring import open_registry, start_server
from server.ca import CaError
from server.instance_lock import AlreadyRunning, claim

log = logging.getLogger(__name__)

APP_NAME = "Client Registry"
# Python runs signal handlers only between bytecodes; while Qt's event loop
# sits in C++ it never gets there, so a timer wakes the interpreter this often.
SIGNAL_CHECK_MS = 200


def run_window(args: argparse.Namespace) -> int:
    """Serve and show the window until it is closed, Ctrl-C or SIGTERM; then stop cleanly."""
    problem = None if QApplication.instance() else display_problem(os.environ)
    if problem:  # Qt would abort the process; say what is missing instead
        log.error("cannot start: %s", problem)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    apply_theme(app)
    if binding_leaks(qt_signal_emitter()):
        return _cannot_start(BROKEN_BINDING)
    try:
        lock = claim(args.data_dir)
    except (AlreadyRunning, OSError) as error:
        return _cannot_start(str(error))
    wake = _close_on_signals(app)  # before the server starts: a signal may come at any moment after
    try:
        service = open_registry(args.data_dir, limits=args.limits)
        server = start_server(service, args.data_dir, args.host, args.port, tls=not args.no_tls)
    except (OSError, CaError) as error:
        wake.stop()
        lock.release()
        return _cannot_start(str(error))
    service.release_connection()  # from here on only the worker threads touch the database
    window = MainWindow(service, server.agent_urls, QSettings())
    try:
        window.show()
        window.start()
        return app.exec()
    finally:
        wake.stop()
        try:
            window.shutdown()
        finally:
            server.stop()  # whatever happened above: a live worker thread would keep the process alive
            lock.release()


def _close_on_signals(app: QApplication) -> QTimer:
    """Ctrl-C and SIGTERM close the windows as their close buttons would (settings saved).

    The close is posted to the event loop, so a signal that comes before the
    loop runs closes the window as soon as it is shown."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, app.closeAllWindows))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(SIGNAL_CHECK_MS)
    return wake


def _cannot_start(reason: str) -> int:
    """One line in the log, and a message box for whoever started the window from a desktop."""
    log.error("cannot start: %s", reason)
    prompts.tell_cannot_start(reason)
    return 1
