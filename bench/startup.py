"""6. Start-up: from process start to the ``listening on …`` log line, headless and with the window.

``main.py`` runs as a user would start it, over a data folder that already
holds its database and CA (the first start, which creates them, runs once
untimed). Baseline: bench.startup_baseline, the least a Python process does to
reach the same line (cheroot over the same TLS, and an empty window). Starts
alternate between product and baseline and each reports its median.
"""

from __future__ import annotations

import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.fleet import PROJECT_ROOT
from bench.report import Figure, not_measured, rounded
from server.ca import CA_CERT_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE

MEASUREMENT = "6 start-up"
STARTS = 3
TIMEOUT_SECONDS = 60
LISTENING = "listening on "


def seconds_to_listening(command: list[str], environment: dict) -> float:
    """Start ``command``, wait for the line, stop it with SIGTERM (as a service manager would)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    try:
        deadline = started + TIMEOUT_SECONDS
        while (remaining := deadline - time.perf_counter()) > 0:
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if LISTENING in line:
                return time.perf_counter() - started
            if process.poll() is not None and lines.empty():
                break
        raise RuntimeError(f"{' '.join(command[1:3])} never logged '{LISTENING}…' (exit {process.poll()})")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def _read_lines(stream, lines: queue.Queue) -> None:
    # A thread of its own, so that a start that hangs silently still times out.
    for line in stream:
        lines.put(line)


def measure(workdir: Path) -> list[Figure]:
    data_dir = workdir / "startup"
    environment = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                       XDG_CONFIG_HOME=str(workdir / "config"))  # the window's settings, never the user's
    product = [sys.executable, "main.py", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", "0"]
    baseline = [sys.executable, "-m", "bench.startup_baseline",
                *(str(data_dir / name) for name in (SERVER_CERT_FILE, SERVER_KEY_FILE, CA_CERT_FILE))]
    figures = []
    try:
        first_start = seconds_to_listening([*product, "--headless"], environment)
    except RuntimeError as error:
        return [not_measured(MEASUREMENT, name, "s", target, str(error))
                for name, target in (("headless", "≤ 1.5 s"), ("with the window", "≤ 3 s"))]
    for name, product_extra, baseline_extra, target in (
            ("headless", ["--headless"], [], 1.5), ("with the window (offscreen)", [], ["--window"], 3.0)):
        try:
            product_times, baseline_times = [], []
            for _ in range(STARTS):
                product_times.append(seconds_to_listening([*product, *product_extra], environment))
                baseline_times.append(seconds_to_listening([*baseline, *baseline_extra], environment))
        except RuntimeError as error:
            figures.append(not_measured(MEASUREMENT, name, "s", f"≤ {target:g} s", str(error)))
            continue
        figure, floor = statistics.median(product_times), statistics.median(baseline_times)
        details = {"starts": rounded(product_times), "baseline_starts": rounded(baseline_times)}
        if name == "headless":
            details["first_start_creating_the_ca"] = round(first_start, 3)
        figures.append(Figure(MEASUREMENT, f"to 'listening on', {name} (median)", figure, "s", floor,
                              "bare cheroot" + (" + empty window" if baseline_extra else ""),
                              f"≤ {target:g} s", figure <= target, details=details))
    return figures
