"""How the audit trail names the administrator behind an action."""

from __future__ import annotations

import getpass


def admin_actor(via: str) -> str:
    """The login name and the way in, e.g. ``"maria (window)"`` or ``"root (cli)"``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. in a container
        name = "admin"
    return f"{name} ({via})"
