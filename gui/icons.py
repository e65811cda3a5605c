"""The window's icons: SVG files in ``assets/``, loaded once each (after QApplication exists)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@cache
def icon(name: str) -> QIcon:
    """``assets/<name>.svg`` as an icon."""
    return QIcon(str(ASSETS / f"{name}.svg"))


def status_icon(status: str) -> QIcon:
    """pending / granted / rejected."""
    return icon(status)
