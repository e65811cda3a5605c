"""Plain read-only values the core hands to the window, the CLI and tests.

How each front end shows them (a table cell, a line of text, ``--json``) is
the front end's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from server.ca import IssuancePlan
from server.csr import CsrReview
from server.lifecycle import CertificateView
from server.statuses import VIA_API
from server.validation import Permission


@dataclass(frozen=True)
class RegistryStatus:
    is_open: bool
    open_until: float | None
    seconds_left: int


class RegistrationSummary(NamedTuple):
    """One row of the registrations table: no CSR or certificate text.

    A tuple, because the window reads 10,000 of these at start."""

    id: int
    username: str
    status: str
    roles: tuple[str, ...]
    permission_count: int
    key_description: str | None
    source_address: str
    requested_at: float
    last_poll_at: float
    certificate_serial: str | None
    certificate_not_after: float | None
    revision: int
    enrolled_via: str = VIA_API  # or VIA_EST (server.statuses)
    pairing_code: str | None = None  # "XXXX-XXXX"; none for requests from before schema 4


@dataclass(frozen=True)
class ReviewedRequest:
    """The request an administrator looked at: a decision applies to it or to nothing."""

    id: int
    digest: str


@dataclass(frozen=True)
class RegistrationDetails:
    """Everything the review dialog and ``admin show`` display about one registration."""

    reviewed: ReviewedRequest  # what a decision taken on these details must name
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
    certificate_serial: str | None = None  # of the newest unrevoked certificate
    certificate_not_after: float | None = None
    certificate_pem: str | None = field(default=None, repr=False)
    certificates: tuple[CertificateView, ...] = ()  # every one issued to this client, oldest first
    warnings: tuple[str, ...] = ()  # what to look at twice before granting (server.review_warnings)
    enrolled_via: str = VIA_API  # or VIA_EST (server.statuses)
    pairing_code: str | None = None  # "XXXX-XXXX"; none for requests from before schema 4


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    actor: str
    action: str
    username: str | None
    detail: str


@dataclass(frozen=True)
class Changes:
    """What changed since a revision, for the window's incremental refresh: rows to insert
    or update, and how many rows exist in all (fewer than the window holds means some
    were deleted)."""

    revision: int
    changed: tuple[RegistrationSummary, ...]
    total: int


@dataclass(frozen=True)
class Decision:
    """One name's result in a bulk grant or reject: done, or refused and why."""

    username: str
    refusal: str | None = None  # the one-line reason, when refused
    certificate_serial: str | None = None  # of the certificate a grant issued
    certificate_not_after: float | None = None

    @property
    def done(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class PreauthorizationView:
    """A pre-authorised device as the window and ``admin preauthorized`` list it."""

    username: str
    key_fingerprint: str
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    created_at: float
    created_by: str
    expires_at: float | None
    used_at: float | None
    state: str  # unused, used or expired (server.preauthorization)
