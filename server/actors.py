"""How the audit trail names the administrator behind an action."""

from __future__ import annotations

import getpass

from common.visible import make_visible


def admin_actor(via: str) -> str:
    """The login name and the way in, e.g. ``"maria (window)"`` or ``"root (cli)"``.

    getpass reads $LOGNAME and friends, which anyone who starts the process can
    set: control characters are escaped before they reach the audit trail."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. in a container
        name = "admin"
    return f"{make_visible(name)} ({via})"
