"""Files written whole or not at all, with the right mode from the first byte;
folders and secrets that no other local user can have prepared.

A folder another user owns or may write to lets them plant a symbolic link
where a key will be read or written, or a key or password of their choosing.
Such a folder is refused, and a secret is opened without following a link
and used only when no one but its owner (us) may read or write it.
"""

from __future__ import annotations

import errno
import os
import stat
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


class UnsafePath(OSError):
    """A folder or secret another local user may have prepared; the message says which, in one line."""


def check_private_folder(folder: Path) -> None:
    """Refuse ``folder`` when another user owns it or group or others may write to it."""
    if os.name != "posix":
        return
    status = os.stat(folder)
    if status.st_uid != os.geteuid():
        raise UnsafePath(f"{folder} belongs to another user (uid {status.st_uid}); use a folder of your own")
    if status.st_mode & 0o022:
        raise UnsafePath(f"{folder} may be written by group or others (mode {status.st_mode & 0o777:o}); "
                         "run chmod go-w on it, or use another folder")


def read_secret(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a private key or password file: never through a
    symbolic link, and only from a regular file that we own and no one else may read or write."""
    with os.fdopen(_open_own_file(path), "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if os.name == "posix" and mode & 0o077:
            raise UnsafePath(f"{path} may be read or written by others (mode {mode & 0o777:o}); "
                             "it is not used: replace it, or run chmod 600 on it if it was never exposed")
        return stream.read(limit + 1)


def make_owner_only(path: Path) -> bool:
    """Take group and other access away from an existing secret of ours; True if it had any.

    Changed through a descriptor opened without following links, so that a
    planted link never has its target's mode changed."""
    descriptor = _open_own_file(path)
    try:
        if os.name != "posix" or not os.fstat(descriptor).st_mode & 0o077:
            return False
        os.fchmod(descriptor, OWNER_ONLY)
        return True
    finally:
        os.close(descriptor)


def _open_own_file(path: Path) -> int:
    """A read descriptor on ``path``, refused when it is a link, not a regular file, or another user's."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafePath(f"{path} is a symbolic link; a key or password is never used through one") from None
        raise
    status = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(status.st_mode):
        problem = f"{path} is not a regular file"
    elif os.name == "posix" and status.st_uid != os.geteuid():
        problem = f"{path} belongs to another user (uid {status.st_uid}); it is not used"
    if problem:
        os.close(descriptor)
        raise UnsafePath(problem)
    return descriptor
