"""The ``--out`` folder; its files are written whole or not at all with ``common.files``."""

from __future__ import annotations

from pathlib import Path


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` (owner-only) unless it exists; an existing one keeps its mode."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
