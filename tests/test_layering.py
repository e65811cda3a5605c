"""Imports flow one way: main -> gui -> server -> storage; client stands alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BLOCKER = """
import sys
BLOCKED = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("imported " + name)
sys.meta_path.insert(0, Block())
sys.modules["PySide6"] = None
"""


def run_blocked(blocked: set[str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code, ",".join(sorted(blocked))],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", [
    "server.service", "server.bootstrap", "server.admin_cli", "server.http_app", "server.http_server",
    "storage", "storage.registrations",
])
def test_server_and_storage_run_without_qt_or_the_window(module):
    result = run_blocked({"PySide6", "shiboken6", "gui", "client"}, f"import {module}")
    assert result.returncode == 0, result.stderr


def test_storage_knows_nothing_of_http_or_certificates():
    result = run_blocked({"PySide6", "gui", "server", "bottle", "cheroot", "cryptography"}, "import storage.registrations, storage.audit")
    assert result.returncode == 0, result.stderr


def test_main_enroll_needs_neither_the_server_nor_qt():
    result = run_blocked({"PySide6", "shiboken6", "gui", "server", "storage", "bottle", "cheroot", "peewee"},
                         "import sys, main; sys.exit(main.main(['enroll', '--help']))")
    assert result.returncode == 0, result.stderr
    assert "--ca-fingerprint" in result.stdout


def test_only_gui_mentions_qt():
    offenders = [str(path.relative_to(ROOT)) for folder in ("server", "storage", "client")
                 for path in (ROOT / folder).rglob("*.py") if "PySide6" in path.read_text()]
    assert offenders == []
