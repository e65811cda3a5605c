"""The agent side stays light: client/ imports the standard library and
``cryptography``, never Qt, the server's packages or their libraries."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import client

ROOT = Path(__file__).resolve().parent.parent

# Python code that makes Qt, the server's packages and their libraries unimportable.
BLOCK_IMPORTS = """
import sys
BLOCKED = {"PySide6", "shiboken6", "server", "storage", "gui", "bottle", "cheroot", "peewee"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"client/ imported {name}")
sys.meta_path.insert(0, Block())
sys.modules["PySide6"] = None
"""

IMPORT_EVERY_CLIENT_MODULE = BLOCK_IMPORTS + """
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print("imported", len(sys.argv) - 1)
"""


def test_every_client_module_imports_without_qt_or_the_server():
    modules = ["client"] + [f"client.{info.name}" for info in pkgutil.iter_modules(client.__path__)]
    assert "client.enroll" in modules
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_CLIENT_MODULE, *modules],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported {len(modules)}"


def test_the_blocker_would_notice_a_forbidden_import():
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_CLIENT_MODULE, "client.enroll", "server.service"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "imported server" in done.stderr
