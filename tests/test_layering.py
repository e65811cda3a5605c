"""Imports flow one way (ARCHITECTURE.md):

    main.py / wiring.py ─► front ends: gui/ · cli/ · server/web/ (wire adapters)
                              └─► the domain core: server/ ─► storage/
    client/ (the agent's tool) ─► common/ ◄─ everything

Each rule is checked on the source (every import statement, also those inside
functions) and, for the agent's tool, by running it with the forbidden
packages made unimportable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

QT = {"PySide6", "shiboken6"}
WEB = {"bottle", "cheroot"}

# package (a folder under the root) -> top-level names its modules must never import
FORBIDDEN = {
    "common": QT | WEB | {"peewee", "server", "storage", "gui", "cli", "client", "wiring", "main", "tools"},
    "client": QT | WEB | {"peewee", "server", "storage", "gui", "cli", "wiring", "main", "tools"},
    "storage": QT | WEB | {"cryptography", "server", "gui", "cli", "client", "wiring", "main", "tools"},
    "server": QT | {"gui", "cli", "client", "wiring", "main", "tools"},  # the core; server/web is checked apart
    "server/web": QT | {"gui", "cli", "client", "storage", "peewee", "wiring", "main", "tools"},
    "cli": QT | WEB | {"gui", "client", "storage", "peewee", "tools"},
    "gui": WEB | {"storage", "peewee", "cli", "client", "wiring", "main", "tools"},
}
# The domain core is server/ without its wire adapters: no HTTP library there.
CORE_ALSO_FORBIDDEN = WEB


def imported_names(path: Path) -> set[str]:
    """The dotted names ``path`` imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def modules(folder: str, *, without: str | None = None) -> list[Path]:
    paths = sorted((ROOT / folder).rglob("*.py"))
    if without is not None:
        paths = [path for path in paths if not path.is_relative_to(ROOT / without)]
    assert paths, f"no modules under {folder}/"
    return paths


def offences(paths: list[Path], forbidden: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)} imports {name}" for path in paths for name in sorted(imported_names(path))
            if name.split(".")[0] in forbidden]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_lies_below_it(folder):
    paths = modules(folder, without="server/web" if folder == "server" else None)
    forbidden = FORBIDDEN[folder] | (CORE_ALSO_FORBIDDEN if folder == "server" else set())
    assert offences(paths, forbidden) == []


def test_the_rule_checker_sees_an_import_inside_a_function(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def later():\n    from peewee import OperationalError\n    import bottle\n")
    assert imported_names(sneaky) == {"peewee", "bottle"}


def test_only_gui_mentions_qt():
    offenders = [str(path.relative_to(ROOT)) for folder in ("server", "storage", "client", "common", "cli")
                 for path in (ROOT / folder).rglob("*.py") if "PySide6" in path.read_text()]
    assert offenders == []


BLOCKER = """
import sys
BLOCKED = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("imported " + name)
sys.meta_path.insert(0, Block())
"""


def run_blocked(blocked: set[str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code, ",".join(sorted(blocked))],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command, option", [("enroll", "--ca-fingerprint"), ("renew", "--keep-key")])
def test_the_agent_tools_need_neither_the_server_nor_qt(command, option):
    result = run_blocked(QT | WEB | {"gui", "server", "storage", "cli", "peewee", "wiring"},
                         f"import sys, main; sys.exit(main.main([{command!r}, '--help']))")
    assert result.returncode == 0, result.stderr
    assert option in result.stdout


@pytest.mark.parametrize("module", ["server.service", "wiring", "cli.admin", "server.web.json_api", "storage"])
def test_the_registry_runs_without_qt_or_the_window(module):
    result = run_blocked(QT | {"gui", "client"}, f"import {module}")
    assert result.returncode == 0, result.stderr
