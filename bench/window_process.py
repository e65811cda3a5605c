"""The window's figures, measured in a process of their own (so its peak memory is its own).

``python -m bench.window_process WORKDIR window`` opens the real main window
(with the HTTPS server running and the app's theme, as ``python main.py`` does;
at its preferred size where the screen allows) over 10,000 stored registrations
and times, on the real code path:

- loading: from ``MainWindow.start()`` until the first read is in the table
  model and the table has painted (the read runs on the worker thread, as always);
- one incremental update: a registration changes in the database, then one
  ``RegistrySync.poll()`` until that row is applied and the table has painted;
- peak memory, idle with the rows shown, then again after a burst of
  simultaneous registrations to its server (a plant's devices all asking at
  once after a power cut): each new registration hashes its password with
  scrypt, 16 MiB of memory apiece while it runs.

``... bare`` is the baseline: the same rows, read through the same service, in
a minimal ``QAbstractTableModel`` and a plain ``QTableView``; no window around,
no style sheet.

Either way it prints one JSON line, with ``ru_maxrss`` as the peak memory.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QAbstractTableModel, QEventLoop, QModelIndex, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from bench.agents import REGISTER_PATH, Poster, registration_body  # noqa: E402
from bench.registry_server import BENCH_LIMITS  # noqa: E402
from bench.stored_rows import store_registrations  # noqa: E402
from gui.theme import apply_theme  # noqa: E402
from wiring import open_registry, start_server  # noqa: E402
from server.ca import CA_CERT_FILE  # noqa: E402
from storage import close_db  # noqa: E402
from server.statuses import PENDING  # noqa: E402

ROWS = 10_000
UPDATES = 10
WAIT_SECONDS = 30
BURST = 32  # as many as the server has worker threads


def wait_for(signal) -> None:
    """Run the event loop until ``signal`` fires; fail after WAIT_SECONDS."""
    loop, fired = QEventLoop(), []
    signal.connect(loop.quit)
    signal.connect(lambda *_: fired.append(True))
    QTimer.singleShot(WAIT_SECONDS * 1000, loop.quit)
    loop.exec()
    if not fired:
        raise RuntimeError(f"waited {WAIT_SECONDS} s for a signal that never came")


def paint() -> None:
    """Deliver what is pending (layout, then the paint of the regions that changed),
    as the event loop would next."""
    QApplication.processEvents()
    QApplication.processEvents()


def milliseconds_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # ru_maxrss is in KiB on Linux


def measure_window(data_dir: Path, service) -> dict:
    from gui.main_window import MainWindow

    server = start_server(service, data_dir, "127.0.0.1", 0)
    close_db()  # as gui.app does: from here on only worker threads touch the database
    settings = QSettings(str(data_dir / "window-settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(service, server.url, settings)
    try:
        window.show()
        paint()
        started = time.perf_counter()
        window.start()
        wait_for(window.sync.loaded)
        paint()
        load_ms = milliseconds_since(started)
        window.sync.stop()  # from now on only the polls below read, so each is timed alone
        shown_rows = window.registrations.rowCount()
        started = time.perf_counter()
        service.changes_since(0)  # the read the first sync did on the worker thread, timed alone
        read_ms = milliseconds_since(started)
        close_db()

        pending = [window.registrations.summary(row).username for row in range(shown_rows)
                   if window.registrations.status_at(row) == PENDING][:UPDATES]
        update_ms = []
        for username in pending:
            service.reject(username, "benchmark")  # one registration changes in the database
            close_db()
            started = time.perf_counter()
            window.sync.poll()
            wait_for(window.registrations.changed)
            paint()
            update_ms.append(milliseconds_since(started))
        idle_peak = peak_memory_mb()
        burst_statuses = register_at_once(service, data_dir, server.url, BURST)
        return {"rows": shown_rows, "load_ms": load_ms, "read_ms": read_ms, "update_ms": update_ms,
                "update_median_ms": statistics.median(update_ms), "peak_memory_mb": idle_peak,
                "peak_memory_after_burst_mb": peak_memory_mb(), "burst": BURST, "burst_statuses": burst_statuses}
    finally:
        window.shutdown()
        window.close()
        server.stop()


def register_at_once(service, data_dir: Path, url: str, count: int) -> dict:
    """``count`` new agents register at the same moment; returns the answers by status."""
    service.open("benchmark", 600)
    close_db()
    bodies = [registration_body(f"burst{i:03d}") for i in range(count)]
    poster = Poster(url, data_dir / CA_CERT_FILE, keep_alive=False)
    with ThreadPoolExecutor(count) as pool:
        statuses = Counter(str(status) for status, _ in pool.map(lambda body: poster.post(REGISTER_PATH, body),
                                                                 bodies))
    return dict(statuses)


class BareModel(QAbstractTableModel):
    """The least a table model can be: rows and their fields as text."""

    COLUMNS = ("username", "status", "roles", "permission_count", "key_description", "source_address",
               "requested_at", "last_poll_at", "certificate_serial", "certificate_not_after")

    def __init__(self):
        super().__init__()
        self.rows = []

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return str(getattr(self.rows[index.row()], self.COLUMNS[index.column()]))
        return None

    def load(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def replace(self, row: int, summary) -> None:
        self.rows[row] = summary
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))


def measure_bare(service) -> dict:
    model, table = BareModel(), QTableView()
    table.setModel(model)
    table.resize(1280, 640)
    table.show()
    paint()
    started = time.perf_counter()
    changes = service.changes_since(0)
    read_ms = milliseconds_since(started)
    model.load(changes.changed)
    paint()
    load_ms = milliseconds_since(started)
    revision, row_of = changes.revision, {summary.id: row for row, summary in enumerate(model.rows)}
    pending = [summary.username for summary in model.rows if summary.status == PENDING][:UPDATES]
    update_ms = []
    for username in pending:
        service.reject(username, "benchmark")
        started = time.perf_counter()
        changes = service.changes_since(revision)
        revision = changes.revision
        for summary in changes.changed:
            model.replace(row_of[summary.id], summary)
        paint()
        update_ms.append(milliseconds_since(started))
    close_db()
    return {"rows": model.rowCount(), "load_ms": load_ms, "read_ms": read_ms, "update_ms": update_ms,
            "update_median_ms": statistics.median(update_ms), "peak_memory_mb": peak_memory_mb()}


def main(argv: list[str]) -> int:
    workdir, mode = Path(argv[0]), argv[1]
    data_dir = workdir / f"window-{mode}"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Client Registry benchmark")  # settings stay out of the product's own
    if mode == "window":
        apply_theme(app)  # as gui.app does: Fusion, the palette and the style sheet (which cost paint time)
    service = open_registry(data_dir, limits=BENCH_LIMITS)
    store_registrations(ROWS)
    close_db()
    result = measure_window(data_dir, service) if mode == "window" else measure_bare(service)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
