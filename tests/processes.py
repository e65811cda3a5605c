"""The registry as separate processes, as it runs for real: ``main.py --headless``
in a subprocess, and ``main.py admin`` over the same data folder."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.ca import CA_CERT_FILE, CA_KEY_FILE

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30


def wait_until(condition, what: str, seconds: float = WAIT_SECONDS):
    """Poll ``condition`` until it returns something true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def terminate(process: subprocess.Popen, seconds: float = 10) -> int:
    """SIGTERM, as an init system would, and SIGKILL after ``seconds``; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


class Registry:
    """``main.py --headless`` in a subprocess on a fixed free port, restartable."""

    def __init__(self, folder: Path, *extra_arguments: str, open_files: int | None = None, root: Path = ROOT,
                 environment: dict[str, str] | None = None):
        """``root``: where main.py is (another release's checkout, for upgrade tests);
        ``environment``: variables for the server and the admin CLI beside the tests' own."""
        self.root = root
        self.folder = folder
        self.data_dir = folder / "data"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.extra_arguments = extra_arguments
        self.open_files = open_files  # a hard RLIMIT_NOFILE for the server, as on a stock system
        self.environment = {**os.environ, **(environment or {})}
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.folder / f"server-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "wb") as stream:
            self.process = subprocess.Popen(
                [sys.executable, "main.py", "--headless", "--host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), *self.extra_arguments],
                cwd=self.root, stdout=subprocess.DEVNULL, stderr=stream, preexec_fn=self._limit_open_files,
                env=self.environment)
        wait_until(lambda: f"listening on {self.url}" in self.log.read_text() or self.process.poll() is not None,
                   "the server to listen")
        assert self.process.poll() is None, self.log.read_text()

    def _limit_open_files(self) -> None:
        if self.open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def stop(self) -> int | None:
        """SIGTERM, as an init system would; the exit status."""
        return None if self.process is None else terminate(self.process)

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, as in a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "main.py", "admin", "--data-dir", str(self.data_dir), *args],
                              cwd=self.root, capture_output=True, text=True, timeout=WAIT_SECONDS,
                              env=self.environment)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def registrations(self) -> list[dict]:
        return json.loads(self.admin("list", "--json").stdout)

    def status_of(self, username: str) -> str | None:
        return next((row["status"] for row in self.registrations() if row["username"] == username), None)

    def wait_for_pending(self, username: str) -> None:
        wait_until(lambda: self.status_of(username) == "pending", f"{username}'s request to be pending")

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "ca.crt"

    @property
    def ca_fingerprint(self) -> str:
        return self.admin("ca").stdout.strip()


def given_the_ca_of(first: Registry, folder: Path) -> Path:
    """A data folder holding ``first``'s CA files, as an operator copies them."""
    data = folder / "data"
    data.mkdir(mode=0o700, parents=True)
    for name in (CA_KEY_FILE, CA_CERT_FILE):
        shutil.copy(first.data_dir / name, data / name)
        (data / name).chmod(0o600)
    return data
