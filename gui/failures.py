"""How a failed action is told to the administrator: one line, never a traceback."""

from __future__ import annotations

import logging

from server.service import Refused, RegistryUnavailable

log = logging.getLogger(__name__)


def failure_text(error: Exception) -> str:
    """One line for the administrator, never a traceback."""
    if isinstance(error, Refused):
        return f"Refused: {error}"
    if isinstance(error, RegistryUnavailable):
        return f"The database cannot be used right now ({error})"
    if isinstance(error, OSError):
        return f"Cannot write the file: {error.strerror or error}"
    log.error("unexpected failure", exc_info=error)
    return f"Failed: {type(error).__name__}: {error}"
