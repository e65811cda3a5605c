"""What the window and the CLI read: the registry's state, registrations, details, the audit trail."""

from __future__ import annotations

import math
from collections.abc import Callable

from server.ca import CertificateAuthority
from server.csr import load_checked_csr
from server.lifecycle import CertificateLifecycle
from server.outcomes import Refused
from server.preauthorization import key_warning
from server.review_warnings import request_warnings
from server.statuses import PENDING, STATUSES
from server.validation import Permission
from server.views import (
    AuditRecord,
    Changes,
    RegistrationDetails,
    RegistrationSummary,
    RegistryStatus,
    ReviewedRequest,
)
from storage import audit, read_snapshot, registrations, registry_state
from storage.records import RegistrationRecord


class Queries:
    def __init__(self, ca: CertificateAuthority, clock: Callable[[], float], lifecycle: CertificateLifecycle):
        self._ca = ca
        self._clock = clock
        self._lifecycle = lifecycle

    def status(self) -> RegistryStatus:
        open_until = registry_state.open_until()
        now = self._clock()
        if open_until is None or now >= open_until:
            return RegistryStatus(False, None, 0)
        return RegistryStatus(True, open_until, math.ceil(open_until - now))

    def is_open(self) -> bool:
        return self.status().is_open

    def registrations(self, status: str | None = None) -> list[RegistrationSummary]:
        if status is not None and status not in STATUSES:
            raise Refused(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        return [RegistrationSummary._make(row) for row in registrations.summaries(status)]

    def changes_since(self, revision: int) -> Changes:
        """Rows changed after ``revision``, read in one snapshot with the new revision."""
        with read_snapshot():
            current = registry_state.current_revision()
            rows = registrations.summaries(changed_after=revision)
            total = registrations.count()
        return Changes(current, tuple(RegistrationSummary._make(row) for row in rows), total)

    def registration_ids(self) -> set[int]:
        return registrations.all_ids()

    def details(self, username: str) -> RegistrationDetails:
        registration = load(username)
        review = load_checked_csr(registration.csr_pem).review if registration.csr_pem else None
        plan = None
        if review is not None and registration.status == PENDING:
            plan = self._ca.plan_client_certificate(registration.username, review.key_algorithm, (), self._clock())
        history = self._lifecycle.history(registration.id)
        permissions = tuple(Permission.from_json(p) for p in registration.permissions)
        shown = next((view for view in reversed(history) if view.revoked_at is None), None)
        return RegistrationDetails(
            reviewed=ReviewedRequest(registration.id, registration.request_digest),
            username=registration.username,
            status=registration.status,
            source_address=registration.source_address,
            requested_at=registration.requested_at,
            last_poll_at=registration.last_poll_at,
            last_poll_address=registration.last_poll_address,
            failed_attempts=registration.failed_attempts,
            context=registration.context,
            roles=tuple(registration.roles),
            permissions=permissions,
            csr=review,
            plan=plan,
            decided_at=registration.decided_at,
            decided_by=registration.decided_by,
            reject_reason=registration.reject_reason,
            granted_roles=tuple(registration.granted_roles or ()),
            granted_permissions=tuple(Permission.from_json(p) for p in registration.granted_permissions or ()),
            certificate_serial=shown.serial if shown else None,
            certificate_not_after=shown.not_after if shown else None,
            certificate_pem=shown.pem if shown else None,
            certificates=history,
            warnings=_warnings(registration, permissions, self._clock()),
            enrolled_via=registration.enrolled_via,
            pairing_code=registration.pairing_code,
        )

    def audit_log(self, limit: int | None = None, after_id: int = 0) -> list[AuditRecord]:
        return [AuditRecord(*row) for row in audit.entries(limit, after_id)]


def _warnings(registration: RegistrationRecord, permissions: tuple[Permission, ...], now: float) -> tuple[str, ...]:
    key = key_warning(registration, now)
    return (key,) * (key is not None) + request_warnings(registration.roles, permissions)


def load(username: str) -> RegistrationRecord:
    """The stored registration for ``username``; Refused when there is none."""
    registration = registrations.find(username)
    if registration is None:
        raise Refused(f"there is no registration named {username!r}")
    return registration
