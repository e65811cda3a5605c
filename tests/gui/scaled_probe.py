"""Run by tests/gui/test_layout.py in a child process whose screen is scaled:
``python -m tests.gui.scaled_probe DATA_DIR``. The real window and review dialog
over a real registry, with one pending request sent over HTTPS; prints where
the window and the dialog's controls are, in screen coordinates, as JSON."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.review_dialog import ReviewDialog
from gui.theme import apply_theme
from wiring import open_registry, start_server
from server.ca import CA_CERT_FILE
from tests.gui.agents import document
from tests.helpers import Client


def main(data_dir: Path) -> int:
    app = QApplication([])
    apply_theme(app)
    service = open_registry(data_dir)
    server = start_server(service, data_dir, "127.0.0.1", 0)
    try:
        service.open("tester")
        reply = Client(server.url, data_dir / CA_CERT_FILE).register(
            document("press9", roles=("operator", "maintainer", "viewer"), context={"site": "Hall B", "line": 3}))
        assert reply.status == 202, reply.body
        details = service.details("press9")
        window = MainWindow(service, server.url, QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
        window.show()
        dialog = ReviewDialog(details, window)
        dialog.show()
        for _ in range(20):
            app.processEvents()

        def on_screen(widget) -> list[int]:
            top_left = widget.mapToGlobal(widget.rect().topLeft())
            return [top_left.x(), top_left.y(), widget.width(), widget.height()]

        print(json.dumps({
            "available": list(app.primaryScreen().availableGeometry().getRect()),
            "window_minimum": list(window.minimumSizeHint().toTuple()),
            "dialog": list(dialog.frameGeometry().getRect()),
            "grant": on_screen(dialog.grant_button), "reject": on_screen(dialog.reject_button),
            "cancel": on_screen(dialog.cancel_button), "reason": on_screen(dialog.reason_edit),
        }))
        dialog.close()
        window.shutdown()
        window.close()
    finally:
        server.stop()
        service.release_connection()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
