"""What administrators do: open and lock, grant, reject, delete; and the expiry chore.

Every action is one transaction together with its audit entry, and raises
``Refused`` with a one-line reason when it cannot be done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from common.fingerprints import certificate_fingerprint, normalize_fingerprint
from server.ca import CertificateAuthority
from server.csr import SubjectAltName, load_checked_csr
from server.limits import Limits
from server.outcomes import Refused
from server.queries import load
from server.statuses import GRANTED, PENDING, REJECTED
from server.validation import Permission
from storage import audit, registrations, registry_state, write_transaction

DEFAULT_OPEN_SECONDS = 300
MAX_OPEN_SECONDS = 24 * 3600
MAX_REASON_CHARS = 500
REGISTRY_ACTOR = "registry"


class Administration:
    def __init__(self, ca: CertificateAuthority, clock: Callable[[], float], limits: Limits):
        self._ca = ca
        self._clock = clock
        self._limits = limits

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
    ) -> str:
        """Grant a pending request; issue its certificate when it sent a CSR. Returns the username.

        ``roles`` and ``permissions`` default to everything requested and may
        only narrow it; ``sans`` must be among the CSR's and defaults to none.
        """
        registration = load(username)
        if registration.status != PENDING:
            raise Refused(f"{registration.username} is {registration.status}, not pending")
        requested_permissions = [Permission.from_json(p) for p in registration.permissions]
        granted_roles = _subset(roles, registration.roles, "role")
        granted_permissions = _subset(permissions, requested_permissions, "permission")
        sans = tuple(sans)
        certificate = None
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
            certificate = self._ca.issue_client_certificate(checked.csr, plan)
        now = self._clock()
        fields = dict(
            status=GRANTED, decided_at=now, decided_by=actor,
            granted_roles=list(granted_roles), granted_permissions=[p.to_json() for p in granted_permissions],
        )
        if certificate is not None:
            fields.update(
                certificate_pem=certificate.public_bytes(Encoding.PEM).decode("ascii"),
                certificate_serial=_serial_hex(certificate),
                certificate_fingerprint=certificate_fingerprint(certificate),
                certificate_not_after=certificate.not_valid_after_utc.timestamp(),
            )
        with write_transaction():
            if not registrations.decide(registration.id, PENDING, **fields):
                raise Refused(f"{registration.username} was decided or deleted meanwhile")
            audit.record(now, actor, "grant", registration.username, _grant_detail(fields, sans))
        return registration.username

    def reject(self, username: str, actor: str, reason: str | None = None) -> None:
        registration = load(username)
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

    def delete(self, username: str, actor: str) -> None:
        """Remove a registration; a granted client's password and certificate stop working at once."""
        registration = load(username)
        detail = f"was {registration.status}"
        if registration.certificate_serial:
            detail += f"; certificate serial {registration.certificate_serial} revoked"
        with write_transaction():
            if not registrations.remove(registration.id):
                raise Refused(f"{registration.username} was deleted meanwhile")
            audit.record(self._clock(), actor, "delete", registration.username, detail)

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
                    expired += 1
        return expired


def fingerprint_argument(text: str) -> str:
    """A key fingerprint as an administrator types it; Refused when it is not one."""
    try:
        return normalize_fingerprint(text)
    except ValueError as error:
        raise Refused(str(error)) from None


def _serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def _subset(chosen, requested, what: str) -> tuple:
    if chosen is None:
        return tuple(requested)
    chosen = tuple(chosen)
    extra = [item for item in chosen if item not in requested]
    if extra:
        raise Refused(f"the request did not ask for the {what} {extra[0]}")
    return chosen


def _grant_detail(fields: dict, sans: tuple[SubjectAltName, ...]) -> str:
    count = len(fields["granted_permissions"])
    parts = [f"roles {', '.join(fields['granted_roles']) or 'none'}",
             f"{count} permission{'' if count == 1 else 's'}"]
    if "certificate_serial" in fields:
        parts.append(f"certificate serial {fields['certificate_serial']}")
    if sans:
        parts.append("SANs " + ", ".join(map(str, sans)))
    return "; ".join(parts)
