"""The ``--out`` folder; its files are written whole or not at all with ``common.files``."""

from __future__ import annotations

from pathlib import Path

from client.errors import EnrollError
from common.files import UnsafePath, check_private_folder


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` (owner-only) unless it exists; an existing one keeps its mode, but
    is refused when another user owns it or may write to it: they could plant a key,
    a password or a link where the tool writes its key."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        check_private_folder(folder)
    except UnsafePath as problem:
        raise EnrollError(str(problem)) from None
