"""What administrators do: open and lock, grant, reject, delete, revoke; and the expiry chore.

Every action is one transaction together with its audit entry, and raises
``Refused`` with a one-line reason when it cannot be done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from server.ca import CertificateAuthority
from server.csr import SubjectAltName, load_checked_csr
from server.lifecycle import REASONS, CertificateLifecycle
from server.limits import Limits
from server.notifications import (
    EXPIRED_EVENT,
    GRANTED_EVENT,
    REJECTED_EVENT,
    REVOKED_EVENT,
    queue,
)
from server.outcomes import Refused
from server.queries import load
from server.statuses import GRANTED, PENDING, REJECTED
from server.terms import fingerprint_argument, grant_detail
from server.validation import Permission
from server.views import Decision, ReviewedRequest
from storage import (
    audit,
    certificates,
    registrations,
    registry_state,
    write_transaction,
)
from storage.records import RegistrationRecord

DEFAULT_OPEN_SECONDS = 300
MAX_OPEN_SECONDS = 24 * 3600
MAX_REASON_CHARS = 500
REGISTRY_ACTOR = "registry"


class Administration:
    def __init__(self, ca: CertificateAuthority, clock: Callable[[], float], limits: Limits,
                 lifecycle: CertificateLifecycle):
        self._ca = ca
        self._clock = clock
        self._limits = limits
        self._lifecycle = lifecycle

    def open(self, actor: str, duration: int = DEFAULT_OPEN_SECONDS) -> None:
        """Accept new requests for ``duration`` seconds from now."""
        if not 1 <= duration <= MAX_OPEN_SECONDS:
            raise Refused(f"the registry can be opened for 1 to {MAX_OPEN_SECONDS} seconds, not {duration}")
        now = self._clock()
        with write_transaction():
            registry_state.set_open_until(now + duration)
            audit.record(now, actor, "open", detail=f"for {duration} seconds")

    def lock(self, actor: str) -> None:
        now = self._clock()
        with write_transaction():
            registry_state.set_open_until(None)
            audit.record(now, actor, "lock")

    def grant(
        self,
        username: str,
        actor: str,
        *,
        roles: Iterable[str] | None = None,
        permissions: Iterable[Permission] | None = None,
        sans: Iterable[SubjectAltName] = (),
        expected_fingerprint: str | None = None,
        reviewed: ReviewedRequest | None = None,
    ) -> Decision:
        """Grant a pending request; issue its certificate when it sent a CSR.

        ``roles`` and ``permissions`` default to everything requested and may
        only narrow it; ``sans`` must be among the CSR's and defaults to none.
        With ``reviewed``, only the request the administrator looked at is granted.
        """
        registration = _load_reviewed(username, reviewed)
        if registration.status != PENDING:
            raise Refused(f"{registration.username} is {registration.status}, not pending")
        requested_permissions = [Permission.from_json(p) for p in registration.permissions]
        granted_roles = _subset(roles, registration.roles, "role")
        granted_permissions = _subset(permissions, requested_permissions, "permission")
        sans = tuple(sans)
        checked = plan = None
        if registration.csr_pem is None:
            if expected_fingerprint is not None:
                raise Refused(f"{registration.username} sent no CSR, so there is no key fingerprint to compare")
            if sans:
                raise Refused(f"{registration.username} sent no CSR, so no SANs can be issued")
        else:
            checked = load_checked_csr(registration.csr_pem)
            if expected_fingerprint is not None:
                expected = fingerprint_argument(expected_fingerprint)
                if expected != checked.review.key_fingerprint:
                    raise Refused(f"fingerprint mismatch: expected {expected}, "
                                  f"the request's key is {checked.review.key_fingerprint}")
            unknown = [str(san) for san in sans if san not in checked.review.sans]
            if unknown:
                raise Refused(f"the CSR does not ask for {', '.join(unknown)}")
            plan = self._ca.plan_client_certificate(
                registration.username, checked.review.key_algorithm, sans, self._clock())
        now = self._clock()
        with write_transaction():
            if not registrations.decide(registration.id, PENDING, status=GRANTED, decided_at=now, decided_by=actor,
                                        granted_roles=list(granted_roles),
                                        granted_permissions=[p.to_json() for p in granted_permissions]):
                raise Refused(f"{registration.username} was decided or deleted meanwhile")
            serial = not_after = None
            if plan is not None:
                certificate = self._lifecycle.issue(registration.id, registration.username, checked.csr, plan)
                serial = format(certificate.serial_number, "x")
                not_after = certificate.not_valid_after_utc.timestamp()
            audit.record(now, actor, "grant", registration.username,
                         grant_detail(granted_roles, granted_permissions, serial, sans))
            queue(now, GRANTED_EVENT, registration.username, roles=list(granted_roles), certificateSerial=serial)
        return Decision(registration.username, certificate_serial=serial, certificate_not_after=not_after)

    def grant_many(self, usernames: Iterable[str], actor: str,
                   reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        """Grant each pending request as requested, each in its own transaction: one name's
        refusal changes nothing for the others. One result per name, in order. With
        ``reviewed`` (username → the request confirmed), only those requests are granted."""
        reviewed = reviewed or {}
        return [_attempt(username, lambda: self.grant(username, actor, reviewed=reviewed.get(username)))
                for username in usernames]

    def reject_many(self, usernames: Iterable[str], actor: str, reason: str | None = None,
                    reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        """Reject each pending request, as ``grant_many`` grants."""
        reviewed = reviewed or {}
        return [_attempt(username, lambda: self.reject(username, actor, reason, reviewed.get(username)))
                for username in usernames]

    def reject(self, username: str, actor: str, reason: str | None = None,
               reviewed: ReviewedRequest | None = None) -> Decision:
        registration = _load_reviewed(username, reviewed)
        if registration.status != PENDING:
            raise Refused(f"{registration.username} is {registration.status}, not pending")
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise Refused(f"a reason is at most {MAX_REASON_CHARS} characters; the agent shows it on one line")
        now = self._clock()
        with write_transaction():
            if not registrations.decide(registration.id, PENDING, status=REJECTED, decided_at=now,
                                        decided_by=actor, reject_reason=reason):
                raise Refused(f"{registration.username} was decided or deleted meanwhile")
            audit.record(now, actor, "reject", registration.username, reason or "")
            queue(now, REJECTED_EVENT, registration.username, reason=reason)
        return Decision(registration.username)

    def delete(self, username: str, actor: str) -> None:
        """Remove a registration and free its name; a granted client's password stops working
        at once, and each of its unrevoked certificates is revoked (and stays on record)."""
        registration = load(username)
        with write_transaction():
            if not registrations.remove(registration.id):
                raise Refused(f"{registration.username} was deleted meanwhile")
            revoked = self._lifecycle.revoke_all(registration.id, "cessationOfOperation")
            detail = f"was {registration.status}" + "".join(
                f"; certificate serial {record.serial} revoked" for record in revoked)
            audit.record(self._clock(), actor, "delete", registration.username, detail)
            for record in revoked:
                queue(self._clock(), REVOKED_EVENT, registration.username, certificateSerial=record.serial,
                      reason="cessationOfOperation")
        if revoked:
            self._lifecycle.publish()

    def revoke(self, username: str, actor: str, reason: str = "unspecified") -> str:
        """Revoke the client's current certificate; the client stays granted and may renew
        with its password. Returns the revoked serial."""
        if reason not in REASONS:
            raise Refused(f"unknown reason {reason!r}; use one of {', '.join(REASONS)}")
        registration = load(username)
        with write_transaction():
            current = certificates.current_of(registration.id, self._clock())
            if current is None:
                raise Refused(f"{registration.username} has no current certificate")
            certificates.revoke(current.serial, self._clock(), reason)
            registrations.touch(registration.id)
            self._lifecycle.reissue_in_transaction()
            audit.record(self._clock(), actor, "revoke", registration.username,
                         f"certificate serial {current.serial}; reason {reason}")
            queue(self._clock(), REVOKED_EVENT, registration.username, certificateSerial=current.serial,
                  reason=reason)
        self._lifecycle.publish()
        return current.serial

    def record_backup(self, actor: str, target: str) -> None:
        with write_transaction():
            audit.record(self._clock(), actor, "backup", detail=f"to {target}")

    def record_restore(self, actor: str, source: str) -> None:
        """The audit entry of a restore, and a CRL (with crl.pem) for the restored folder."""
        with write_transaction():
            audit.record(self._clock(), actor, "restore", detail=f"from {source}")
            self._lifecycle.reissue_in_transaction()
        self._lifecycle.publish()

    def expire_stale_requests(self) -> int:
        """Delete pending requests older than the limit, each with an audit entry; how many."""
        max_age = self._limits.pending_max_age_seconds
        if max_age is None:
            return 0
        now = self._clock()
        expired = 0
        for registration in registrations.requested_before(PENDING, now - max_age):
            with write_transaction():
                if registrations.remove(registration.id, only_if_status=PENDING):
                    audit.record(now, REGISTRY_ACTOR, "expire", registration.username,
                                 f"pending for more than {max_age / 3600:g} hours")
                    queue(now, EXPIRED_EVENT, registration.username)
                    expired += 1
        return expired


def _load_reviewed(username: str, reviewed: ReviewedRequest | None) -> RegistrationRecord:
    """The registration a decision is about; Refused when it is not the one reviewed.

    Ids are never reused, so a request deleted (or expired) and registered anew
    under the same name, say by an impostor while the review was open, is
    another request, and so is one whose content changed."""
    registration = load(username)
    if reviewed is not None and reviewed != ReviewedRequest(registration.id, registration.request_digest):
        raise Refused(f"the request of {registration.username} that was reviewed was deleted, expired or "
                      "replaced meanwhile; nothing changed: review the current one")
    return registration


def _attempt(username: str, decide: Callable[[], Decision]) -> Decision:
    try:
        return decide()
    except Refused as refusal:
        return Decision(username, refusal=str(refusal))


def _subset(chosen, requested, what: str) -> tuple:
    if chosen is None:
        return tuple(requested)
    chosen = tuple(chosen)
    extra = [item for item in chosen if item not in requested]
    if extra:
        raise Refused(f"the request did not ask for the {what} {extra[0]}")
    return chosen
