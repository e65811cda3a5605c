"""How administrators' words are read and written back: a key fingerprint as typed, a grant's
audit detail. Shared by the decisions (``server.administration``) and pre-authorisations."""

from __future__ import annotations

from common.fingerprints import normalize_fingerprint
from server.csr import SubjectAltName
from server.outcomes import Refused


def fingerprint_argument(text: str) -> str:
    """A key fingerprint as an administrator types it; Refused when it is not one."""
    try:
        return normalize_fingerprint(text)
    except ValueError as error:
        raise Refused(str(error)) from None


def grant_detail(roles: tuple, permissions: tuple, serial: str | None, sans: tuple[SubjectAltName, ...]) -> str:
    count = len(permissions)
    parts = [f"roles {', '.join(roles) or 'none'}", f"{count} permission{'' if count == 1 else 's'}"]
    if serial is not None:
        parts.append(f"certificate serial {serial}")
    if sans:
        parts.append("SANs " + ", ".join(map(str, sans)))
    return "; ".join(parts)
