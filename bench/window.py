"""5. The window: 10,000 registrations loaded and shown, one incremental update, peak memory.

Each side runs in a fresh process (bench.window_process): the real main
window with its server, and the bare baseline (the same rows through the same
service, in a minimal model and a plain table view).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.fleet import PROJECT_ROOT
from bench.report import Figure, not_measured
from bench.window_process import BURST, ROWS

MEASUREMENT = "5 window"
TIMEOUT_SECONDS = 180
LOAD, UPDATE, MEMORY, BURST_MEMORY = (
    f"{ROWS:,} rows loaded and shown", "one incremental update (median)",
    f"peak memory, window open, {ROWS:,} rows", f"peak memory, the same after {BURST} registrations at once")
TARGETS = {LOAD: ("≤ 300 ms", 300), UPDATE: ("≤ 20 ms", 20), MEMORY: ("≤ 300 MB", 300),
           BURST_MEMORY: ("≤ 300 MB", 300)}


# A desktop screen, on which the window opens at its preferred 1280×760 (the offscreen
# platform's own 800×800 screen would shrink it, and the table with it).
SCREEN = {"name": "desktop", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "logicalBaseDpi": 96,
          "dpr": 1}


def run_window_process(workdir: Path, mode: str) -> dict:
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if platform == "offscreen":
        config = workdir / "offscreen-screen.json"
        config.write_text(json.dumps({"screens": [SCREEN]}))
        platform = f"offscreen:configfile={config}"
    environment = dict(os.environ, QT_QPA_PLATFORM=platform)
    completed = subprocess.run([sys.executable, "-m", "bench.window_process", str(workdir), mode],
                               cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                               timeout=TIMEOUT_SECONDS, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the {mode} process failed ({completed.returncode}): {last}")
    return json.loads(lines[-1])


def measure(workdir: Path) -> list[Figure]:
    try:
        bare = run_window_process(workdir, "bare")
        window = run_window_process(workdir, "window")
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return [not_measured(MEASUREMENT, name, unit, TARGETS[name][0], str(error))
                for name, unit in ((LOAD, "ms"), (UPDATE, "ms"), (MEMORY, "MB"), (BURST_MEMORY, "MB"))]
    details = {"window": window, "bare": bare}
    figures = []
    for name, key, unit in ((LOAD, "load_ms", "ms"), (UPDATE, "update_median_ms", "ms"),
                            (MEMORY, "peak_memory_mb", "MB")):
        target, limit = TARGETS[name]
        figures.append(Figure(MEASUREMENT, name, window[key], unit, bare[key], "bare Qt table", target,
                              window[key] <= limit, details=details if name == LOAD else {}))
    figures[0].note = (f"the storage read of {ROWS:,} summaries (service.changes_since(0)) alone: "
                       f"{window['read_ms']:.0f} ms; the bare table does the same read")
    burst = window["peak_memory_after_burst_mb"]
    figures.append(Figure(MEASUREMENT, BURST_MEMORY, burst, "MB", window["peak_memory_mb"], "window idle",
                          TARGETS[BURST_MEMORY][0], burst <= TARGETS[BURST_MEMORY][1],
                          f"answers: {window['burst_statuses']}; scrypt takes 16 MiB per hash in flight"))
    return figures
