"""The window's icons: SVG files in ``assets/``, loaded once each (after QApplication exists).

The files are drawn for a light background. Under the dark scheme their dark
strokes would vanish, so each is loaded with its colours swapped for lighter
ones, from a copy in a folder that lives as long as the process.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Light-scheme colour -> dark-scheme colour; white glyphs on coloured discs stay as they are.
DARK_COLOURS = {
    "#4a5563": "#c3cad5",  # grey strokes
    "#2f5f9e": "#8db4ee",  # blue strokes
    "#1a4f9c": "#8db4ee",
    "#1e7d3c": "#6fd08c",  # open lock
    "#d6f0dd": "#1d3b27",
    "#8a3b32": "#f2897e",  # closed lock
    "#f3d9d5": "#43231f",
    "#b23b32": "#f2897e",  # delete
}
_scheme = "light"


def set_scheme(scheme: str) -> None:
    """Icons made from now on are for ``scheme`` ("light" or "dark")."""
    global _scheme
    _scheme = scheme


def icon(name: str) -> QIcon:
    """``assets/<name>.svg`` as an icon for the current scheme."""
    return _icon(name, _scheme)


def status_icon(status: str) -> QIcon:
    """pending / granted / rejected."""
    return icon(status)


def expiry_icon(state: str) -> QIcon:
    """"expiring" or "expired": the style's warning and error signs, drawn in colours of
    their own (amber, red) that read on a light and a dark base alike."""
    pixmap = (QStyle.StandardPixmap.SP_MessageBoxCritical if state == "expired"
              else QStyle.StandardPixmap.SP_MessageBoxWarning)
    return _standard_icon(pixmap)


@cache
def _standard_icon(pixmap: QStyle.StandardPixmap) -> QIcon:
    return QApplication.style().standardIcon(pixmap)


@cache
def _icon(name: str, scheme: str) -> QIcon:
    path = ASSETS / f"{name}.svg"
    if scheme == "dark":
        path = _dark_folder() / path.name
        if not path.exists():
            text = (ASSETS / path.name).read_text(encoding="utf-8")
            for light, dark in DARK_COLOURS.items():
                text = text.replace(light, dark)
            path.write_text(text, encoding="utf-8")
    return QIcon(str(path))


@cache
def _dark_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="client-registry-icons-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
