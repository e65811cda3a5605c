"""What the domain core answers an agent, in domain terms.

The agent protocol returns one of these; each wire adapter (the JSON API, EST)
turns it into its own status code and body. Nothing here knows HTTP: a
``Refused`` names its ``kind``, and the adapter decides that a wrong password is
``409`` in the JSON API and ``401`` in EST.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.validation import FieldError, Permission

LOCKED_RETRY_AFTER = 10
PENDING_RETRY_AFTER = 5
UNAVAILABLE_RETRY_AFTER = 30


@dataclass(frozen=True)
class Locked:
    """The registry does not take new requests now."""

    retry_after: int = LOCKED_RETRY_AFTER


@dataclass(frozen=True)
class Pending:
    """Stored, waiting for an administrator."""

    username: str
    key_fingerprint: str | None
    retry_after: int = PENDING_RETRY_AFTER
    pairing_code: str | None = None  # none for requests stored before pairing codes


@dataclass(frozen=True)
class Granted:
    """A granted client: what it may do and, when it sent a CSR, its certificate."""

    username: str
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    certificate_pem: str | None
    ca_certificate_pem: str


@dataclass(frozen=True)
class Rejected:
    reason: str | None


@dataclass(frozen=True)
class Authenticated:
    """A granted client that proved itself."""

    username: str
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    method: str  # "password" or "certificate"


class RefusalKind(enum.Enum):
    """Why the core said no; adapters map each kind to their own answer."""

    INVALID = "invalid"  # the request breaks a rule; ``errors`` names the fields
    WRONG_PASSWORD = "wrong-password"  # a known username with another password
    CHANGED_PENDING = "changed-pending"  # a pending request re-sent with other content
    KEY_TAKEN = "key-taken"  # the CSR's key belongs to another username
    TAKEN_MEANWHILE = "taken-meanwhile"  # a concurrent request took and freed the name
    TOO_MANY_FAILURES = "too-many-failures"
    TOO_MANY_NEW_REQUESTS = "too-many-new-requests"
    UNAUTHENTICATED = "unauthenticated"  # no valid credentials for an authenticated call
    NOT_ALLOWED = "not-allowed"  # an action the client's (or request's) state does not allow
    UNAVAILABLE = "unavailable"  # the database cannot be used now (full, busy, read-only): come back later
    BUSY = "busy"  # as many new registrations are hashing as the registry takes at once: come back later


class Refused(Exception):
    """A refusal with a one-line message.

    The agent protocol returns it as an outcome; administrative actions raise
    it, and the CLI and the window show its message as one line.
    """

    def __init__(self, message: str, kind: RefusalKind = RefusalKind.NOT_ALLOWED, *,
                 retry_after: int | None = None, errors: tuple[FieldError, ...] = ()):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        self.errors = errors

    def __repr__(self) -> str:
        return f"Refused({self.message!r}, {self.kind})"


AgentOutcome = Locked | Pending | Granted | Rejected | Refused
