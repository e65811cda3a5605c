"""One registry process per data folder.

Two servers (or windows) on one folder would both run the chores, and the second
window would open on top of the first with no hint that it is a second one. An
OS-level lock says so reliably: the kernel releases it when the process ends,
however it ends, so a crash never leaves a stale lock behind (a PID file would).

The admin command line does not take it: it works on the folder while the
server runs, by design.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; one instance per folder is then the user's care
    fcntl = None

LOCK_FILE = "instance.lock"


class AlreadyRunning(Exception):
    """Another process holds the data folder; the message says so in one line."""


class InstanceLock:
    """Held from ``claim`` until the process ends (or ``release``)."""

    def __init__(self, fd: int | None, path: Path):
        self._fd = fd
        self.path = path

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def claim(data_dir: Path) -> InstanceLock:
    """Take the data folder for this process, or raise ``AlreadyRunning``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    if fcntl is None:
        return InstanceLock(None, path)
    # O_NOFOLLOW: a symlink planted in the folder must not make us open (and
    # truncate) some other file; 0600: the file says which process runs.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f" (process {holder})" if holder else ""
        raise AlreadyRunning(f"another Client Registry already runs on {data_dir}{who}; "
                             "use that one, or give this one another --data-dir") from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    return InstanceLock(fd, path)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
