"""One registry process per data folder; the admin CLI is not one of them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from server.instance_lock import LOCK_FILE, AlreadyRunning, claim
from tests.processes import ROOT, Registry


def test_a_second_headless_server_on_the_same_folder_says_so_in_one_line(registry):
    second = Registry(registry.folder)  # same data folder, another free port
    done = subprocess.run([sys.executable, "main.py", "--headless", "--host", "127.0.0.1", "--port",
                           str(second.port), "--data-dir", str(registry.data_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(f"cannot start: another Client Registry already runs on {registry.data_dir} "
                             f"(process {registry.process.pid}); use that one, or give this one another --data-dir")
    assert registry.process.poll() is None  # the first one is untouched


def test_the_admin_cli_works_beside_the_running_server(registry):
    registry.admin("open")
    assert registry.admin("status").stdout.startswith("open")


def test_the_lock_goes_with_the_process_however_it_ends(registry):
    registry.kill()  # SIGKILL: no clean-up ran
    registry.start()  # the same folder: the kernel released the lock
    assert registry.process.poll() is None


def test_the_lock_file_is_owner_only_and_a_planted_symlink_is_not_followed(tmp_path):
    data = tmp_path / "data"
    lock = claim(data)
    try:
        assert stat.S_IMODE((data / LOCK_FILE).stat().st_mode) == 0o600
        with pytest.raises(AlreadyRunning):
            claim(data)  # a second claim, even from this process, is refused
    finally:
        lock.release()
    claim(data).release()  # free again once released

    elsewhere = tmp_path / "victim.txt"
    elsewhere.write_text("keep me")
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(elsewhere, other / LOCK_FILE)
    with pytest.raises(OSError):
        claim(other)
    assert elsewhere.read_text() == "keep me"
