"""Plain read-only values the service hands to the window, the CLI and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from server.ca import IssuancePlan
from server.csr import CsrReview
from server.validation import Permission
from storage.registrations import SummaryRow


def iso(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RegistryStatus:
    is_open: bool
    open_until: float | None
    seconds_left: int

    def to_json(self) -> dict:
        return {
            "state": "open" if self.is_open else "locked",
            "openUntil": iso(self.open_until) if self.is_open else None,
            "secondsLeft": self.seconds_left,
        }


class RegistrationSummary(SummaryRow):
    """One row of the registrations table: storage's summary row, and how to show it."""

    __slots__ = ()

    def to_json(self) -> dict:
        return {
            "username": self.username, "status": self.status, "roles": list(self.roles),
            "permissionCount": self.permission_count, "key": self.key_description,
            "sourceAddress": self.source_address, "requestedAt": iso(self.requested_at),
            "lastPollAt": iso(self.last_poll_at), "certificateSerial": self.certificate_serial,
            "certificateNotAfter": iso(self.certificate_not_after),
        }


@dataclass(frozen=True)
class RegistrationDetails:
    """Everything the review dialog and ``admin show`` display about one registration."""

    username: str
    status: str
    source_address: str
    requested_at: float
    last_poll_at: float
    last_poll_address: str
    failed_attempts: int
    context: str | dict | None
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    csr: CsrReview | None
    plan: IssuancePlan | None  # what a grant would issue now (pending with a CSR only)
    decided_at: float | None = None
    decided_by: str | None = None
    reject_reason: str | None = None
    granted_roles: tuple[str, ...] = ()
    granted_permissions: tuple[Permission, ...] = ()
    certificate_serial: str | None = None
    certificate_not_after: float | None = None
    certificate_pem: str | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {
            "username": self.username,
            "status": self.status,
            "sourceAddress": self.source_address,
            "requestedAt": iso(self.requested_at),
            "lastPollAt": iso(self.last_poll_at),
            "lastPollAddress": self.last_poll_address,
            "failedAttempts": self.failed_attempts,
            "context": self.context,
            "roles": list(self.roles),
            "permissions": [p.to_json() for p in self.permissions],
            "csr": self.csr.to_json() if self.csr else None,
            "willIssue": self.plan.to_json() if self.plan else None,
            "decidedAt": iso(self.decided_at),
            "decidedBy": self.decided_by,
            "rejectReason": self.reject_reason,
            "grantedRoles": list(self.granted_roles),
            "grantedPermissions": [p.to_json() for p in self.granted_permissions],
            "certificateSerial": self.certificate_serial,
            "certificateNotAfter": iso(self.certificate_not_after),
            "certificate": self.certificate_pem,
        }


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    actor: str
    action: str
    username: str | None
    detail: str

    def to_json(self) -> dict:
        return {"at": iso(self.at), "actor": self.actor, "action": self.action,
                "username": self.username, "detail": self.detail}


@dataclass(frozen=True)
class Changes:
    """What changed since a revision, for the window's incremental refresh: rows to insert
    or update, and how many rows exist in all (fewer than the window holds means some
    were deleted)."""

    revision: int
    changed: tuple[RegistrationSummary, ...]
    total: int
