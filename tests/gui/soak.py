"""A shift in seconds: the real window's refresh and task machinery driven
through many cycles, in a process of its own.

Run as ``python -m tests.gui.soak DATA_DIR CYCLES``. It prints one JSON line
with the reference counts of ``True``, ``False`` and ``None`` and the number of
live objects, after a warm-up and after the cycles. A binding that loses a reference on every signal emit
(PySide6 6.12.0) aborts the interpreter here with "bool_dealloc", which is why
this is a child process: the abort must fail the test, not kill pytest.

Each cycle is what an hour of the window does many times over: a poll of the
registry on the worker thread delivered back through the task relay, the
countdown's tick; every few cycles an agent registers, the administrator opens
or locks, grants or rejects the request, reads its details and deletes it. The
registry holds as much at the end as at the start, so the counts must not move.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gui.audit_model import MAX_ROWS as AUDIT_ROWS
from gui.main_window import MainWindow
from gui.review_dialog import GRANT, REJECT, ReviewDecision
from wiring import open_registry, start_server
from server.web.json_api import registration_answer
from storage import audit, write_transaction
from tests.gui.agents import document

WARM_UP_CYCLES = 300


def _settle(app: QApplication, window: MainWindow) -> None:
    """Process events until every background task has come back."""
    while window.tasks.pending():
        app.processEvents()


def _cycle(app: QApplication, window: MainWindow, number: int) -> bool:
    """One cycle; True when it registered an agent and the table showed it."""
    service, step = window.service, number % 25
    name = f"soak{number - step}"  # the agent of this round of 25 cycles
    if step == 0:
        body = json.dumps(document(name, csr=number % 50 == 0)).encode()
        agent = f"10.0.{number // 25 // 250}.{number // 25 % 250 + 1}"  # one request per address: no throttle
        registration_answer(service, body, "application/json", agent)
    elif step == 10:
        window.decide(name, ReviewDecision(GRANT) if number % 50 == 10 else ReviewDecision(REJECT, reason="soak"))
    elif step == 15:
        window.tasks.run(lambda: service.details(name), lambda details: None)
    elif step == 20:
        # Deleted again, so the table holds as many rows at the end as at the start:
        # what the window keeps in memory stays the same, and any drift is a leak.
        window.tasks.run(lambda: service.delete(name, "soak"), lambda _: window.sync.poll())
    if number % 50 in (20, 21):
        window.state_panel.toggle_button.click()  # lock, and open again in the next cycle
    window.sync.poll()
    window.state_panel._ticker.timeout.emit()
    _settle(app, window)
    if step != 0:
        return False
    newest = window.registrations.summary(window.registrations.rowCount() - 1)
    return newest.username == name


def _fill_audit_trail(service) -> None:
    """The window shows the newest AUDIT_ROWS entries: start with that many, so
    that new entries replace old ones and the audit table stays the same size.
    One in four names nobody, as lock and open do among the cycles' entries."""
    with write_transaction():
        for number in range(AUDIT_ROWS):
            if number % 4:
                audit.record(service.clock(), "soak", "request", f"filler{number}", "no CSR")
            else:
                audit.record(service.clock(), "soak", "lock")


def _counts() -> dict[str, int]:
    gc.collect()
    return {"True": sys.getrefcount(True), "False": sys.getrefcount(False), "None": sys.getrefcount(None),
            "objects": len(gc.get_objects())}


def main(data_dir: str, cycles: str) -> int:
    app = QApplication(sys.argv[:1])
    service = open_registry(Path(data_dir))
    _fill_audit_trail(service)
    service.open("soak", 24 * 3600)
    server = start_server(service, Path(data_dir), "127.0.0.1", 0)
    window = MainWindow(service, server.url, QSettings(str(Path(data_dir) / "window.ini"), QSettings.Format.IniFormat))
    try:
        window.show()
        window.start()
        for number in range(WARM_UP_CYCLES):
            _cycle(app, window, number)
        before = _counts()
        shown = sum(_cycle(app, window, number) for number in range(WARM_UP_CYCLES, WARM_UP_CYCLES + int(cycles)))
        after = _counts()
    finally:
        window.shutdown()
        server.stop()
    print(json.dumps({"before": before, "after": after, "registered_and_shown": shown}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
