"""``python main.py``: the window and the server start, and SIGTERM / Ctrl-C stop both cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import Client

REPO = Path(__file__).resolve().parents[2]


def start_window(tmp_path) -> tuple[subprocess.Popen, str]:
    """Start ``main.py`` offscreen on a free port; return it and the URL it logged."""
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    process = subprocess.Popen(
        [sys.executable, "main.py", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO, env=environment, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    for line in process.stderr:
        if "listening on " in line:
            return process, line.split("listening on ", 1)[1].strip()
        if time.monotonic() > deadline:
            break
    process.kill()
    pytest.fail("main.py never logged 'listening on'")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_main_opens_the_window_serves_https_and_stops_cleanly_on_a_signal(tmp_path, signum):
    process, url = start_window(tmp_path)
    try:
        reply = Client(url, tmp_path / "data" / "ca.crt").request("GET", "/api/client-registry/ca")
        assert reply.status == 200
        process.send_signal(signum)
        rest = process.communicate(timeout=30)[1]
        assert process.returncode == 0, rest
    finally:
        if process.poll() is None:
            process.kill()
    assert f"stopped listening on {url}" in rest
    assert "Traceback" not in rest
    # Closing saved the window's settings, in the configuration folder it was given.
    assert list((tmp_path / "config").rglob("*.conf"))
