"""Files written whole or not at all, with the right mode from the first byte."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

OWNER_ONLY = 0o600
PUBLIC = 0o644


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a
    rename, so a crash or a full disk never leaves a half-written key or certificate.

    ``mkstemp`` creates the temporary file owner-only with a fresh random name
    (O_EXCL: a planted file or symlink is never opened), so a key is never
    readable by others even for a moment; the final mode is set before the rename.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_owner_only(path: Path) -> bool:
    """Take group and other access away from an existing secret; True if it had any."""
    if os.name != "posix" or not path.stat().st_mode & 0o077:
        return False
    path.chmod(OWNER_ONLY)
    return True
