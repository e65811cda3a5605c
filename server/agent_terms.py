"""How the agent protocol names things, for the modules that answer agents
(``server.agents``, ``server.renewal``): the audit trail's actor for an agent,
permissions as stored, and the words of refusals both give."""

from __future__ import annotations

from server.statuses import VIA_EST
from server.validation import Permission

KEY_TAKEN = "the CSR's public key is already registered under another username"


def agent_actor(source: str, via: str) -> str:
    """The audit trail's actor for an agent: its address, and EST when it came that way."""
    return f"agent {source} (EST)" if via == VIA_EST else f"agent {source}"


def permissions_of(stored: list | None) -> tuple[Permission, ...]:
    return tuple(Permission.from_json(p) for p in stored or ())
