"""``python main.py``: the admin window, with the HTTPS server in a worker thread."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.main_window import MainWindow
from gui.theme import apply_theme
from wiring import open_registry, start_server
from server.ca import CaError

log = logging.getLogger(__name__)

APP_NAME = "Client Registry"
# Python runs signal handlers only between bytecodes; while Qt's event loop
# sits in C++ it never gets there, so a timer wakes the interpreter this often.
SIGNAL_CHECK_MS = 200


def run_window(args: argparse.Namespace) -> int:
    """Serve and show the window until it is closed, Ctrl-C or SIGTERM; then stop cleanly."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    apply_theme(app)
    wake = _close_on_signals(app)  # before the server starts: a signal may come at any moment after
    try:
        service = open_registry(args.data_dir, limits=args.limits)
        server = start_server(service, args.data_dir, args.host, args.port, tls=not args.no_tls)
    except (OSError, CaError) as error:
        log.error("cannot start: %s", error)
        wake.stop()
        _tell_cannot_start(app, str(error))
        return 1
    service.release_connection()  # from here on only the worker threads touch the database
    window = MainWindow(service, server.url, QSettings())
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


def _tell_cannot_start(app: QApplication, reason: str) -> None:
    """Someone who started the window from a desktop sees no log: tell them, unless nobody can see it."""
    if app.platformName() in ("offscreen", "minimal"):
        return
    box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, "Client Registry cannot start.")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(reason)
    box.exec()
