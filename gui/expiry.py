"""How near a certificate is to its end, in words the administrator reads at a glance.

SPEC: the window marks certificates that expire within 30 days, the window in
which the agents' renew tool (``main.py renew --within``, 30 days by default)
replaces them, so a mark that stays means a client that did not renew. Time is
always the service's clock, never the process's: tests move it.
"""

from __future__ import annotations

import math

EXPIRY_WARNING_DAYS = 30
DAY = 86_400.0
EXPIRING, EXPIRED = "expiring", "expired"


def expiry_state(not_after: float | None, now: float) -> str | None:
    """EXPIRED, EXPIRING (within 30 days), or None: nothing to point out (or no certificate)."""
    if not_after is None:
        return None
    if not_after <= now:
        return EXPIRED
    return EXPIRING if not_after - now <= EXPIRY_WARNING_DAYS * DAY else None


def expiry_text(not_after: float | None, now: float) -> str:
    """"expires in 12 days", "expired 3 days ago"…; whole days, never rounded towards comfort."""
    if not_after is None:
        return ""
    left = not_after - now
    if left <= 0:
        days = math.floor(-left / DAY)
        return "expired today" if days == 0 else f"expired {_days(days)} ago"
    days = math.floor(left / DAY)
    return "expires in less than a day" if days == 0 else f"expires in {_days(days)}"


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"
