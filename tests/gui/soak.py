"""A shift in seconds: the real window's refresh and task machinery driven
through many cycles, in a process of its own.

Run as ``python -m tests.gui.soak DATA_DIR CYCLES``. It prints one JSON line
with the reference counts of ``True``, ``False`` and ``None`` after a warm-up
and after the cycles. A binding that loses a reference on every signal emit
(PySide6 6.12.0) aborts the interpreter here with "bool_dealloc", which is why
this is a child process: the abort must fail the test, not kill pytest.

Each cycle is what an hour of the window does many times over: a poll of the
registry on the worker thread delivered back through the task relay, the
countdown's tick; every few cycles an agent registers, the administrator opens
or locks, grants or rejects a request, and the window reads the details.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.review_dialog import GRANT, REJECT, ReviewDecision
from server.bootstrap import open_registry, start_server
from tests.gui.agents import document

WARM_UP_CYCLES = 300


def _settle(app: QApplication, window: MainWindow) -> None:
    """Process events until every background task has come back."""
    while window.tasks.pending():
        app.processEvents()


def _cycle(app: QApplication, window: MainWindow, number: int) -> None:
    service = window.service
    if number % 25 == 0:
        body = json.dumps(document(f"soak{number}", csr=number % 50 == 0)).encode()
        agent = f"10.0.{number // 25 // 250}.{number // 25 % 250 + 1}"  # one request per address: no throttle
        service.register(body, "application/json", agent)
    if number % 50 in (20, 21):
        window.state_panel.toggle_button.click()  # lock, and open again in the next cycle
    if number % 25 == 10:
        name = f"soak{number - 10}"
        window.decide(name, ReviewDecision(GRANT) if number % 50 == 10 else ReviewDecision(REJECT, reason="soak"))
    if number % 25 == 15:
        window.tasks.run(lambda: service.details(f"soak{number - 15}"), lambda details: None)
    window.sync.poll()
    window.state_panel._ticker.timeout.emit()
    _settle(app, window)
    if number % 25 == 0:
        newest = window.registrations.summary(window.registrations.rowCount() - 1)
        assert newest.username == f"soak{number}", f"soak{number} is not in the table"


def _counts() -> dict[str, int]:
    return {"True": sys.getrefcount(True), "False": sys.getrefcount(False), "None": sys.getrefcount(None)}


def main(data_dir: str, cycles: str) -> int:
    app = QApplication(sys.argv[:1])
    service = open_registry(Path(data_dir))
    service.open("soak", 24 * 3600)
    server = start_server(service, Path(data_dir), "127.0.0.1", 0)
    window = MainWindow(service, server.url, QSettings(str(Path(data_dir) / "window.ini"), QSettings.Format.IniFormat))
    try:
        window.show()
        window.start()
        for number in range(WARM_UP_CYCLES):
            _cycle(app, window, number)
        before = _counts()
        for number in range(WARM_UP_CYCLES, WARM_UP_CYCLES + int(cycles)):
            _cycle(app, window, number)
        after = _counts()
        rows = window.registrations.rowCount()
    finally:
        window.shutdown()
        server.stop()
    print(json.dumps({"before": before, "after": after, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
