"""The registration service: every protocol rule, in one place.

The bottle routes, the admin CLI and the window all call this class. A route
only turns HTTP into a call and an ``Answer`` back into HTTP; the CLI and the
window turn ``Refused`` into a one-line reason for the administrator.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from server import answers
from server.answers import Answer
from server.ca import CertificateAuthority, certificate_fingerprint
from server.csr import CsrError, SubjectAltName, check_csr, load_checked_csr
from server.limits import FailedAttempts, Limits, Throttle
from server.passwords import VerifiedPasswords, hash_password
from server.poll_log import PollLog
from server.validation import (
    MAX_BODY_BYTES,
    FieldError,
    InvalidRequest,
    Permission,
    RegistrationRequest,
    is_json_content_type,
    parse_registration,
)
from server.views import AuditRecord, Changes, RegistrationDetails, RegistrationSummary, RegistryStatus
from storage import audit, close_db, db, registrations, registry_state, write_transaction
from storage.models import Registration
from storage.registrations import GRANTED, PENDING, REJECTED, PublicKeyTaken, UsernameTaken

Clock = Callable[[], float]
"""Seconds since the epoch; the one seam through which tests move time."""

DEFAULT_OPEN_SECONDS = 300
MAX_OPEN_SECONDS = 24 * 3600
REGISTRY_ACTOR = "registry"
MAX_REASON_CHARS = 500

_HEX64 = re.compile(r"[0-9a-f]{64}")


class Refused(Exception):
    """An administrative action that cannot be done; the message is one line."""


def normalize_fingerprint(text: str) -> str:
    """Hex with or without colons or spaces, any case -> 64 lowercase hex digits."""
    fingerprint = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(fingerprint):
        raise Refused("a fingerprint is 64 hex digits (SHA-256), with or without colons")
    return fingerprint


class RegistrationService:
    def __init__(self, ca: CertificateAuthority, clock: Clock = time.time, limits: Limits = Limits()):
        self.ca = ca
        self.clock = clock
        self.limits = limits
        self._verified = VerifiedPasswords()
        self._failures = FailedAttempts(limits, clock)
        self._new_requests = Throttle(limits.new_requests_per_address, limits.new_request_window_seconds, clock)
        self._polls = PollLog()

    # ----------------------------------------------------------- agents

    def register(self, body: bytes, content_type: str | None, source: str) -> Answer:
        """Answer a registration request or poll (SPEC: HTTP API, the status table)."""
        if len(body) > MAX_BODY_BYTES:
            return answers.error(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")
        if not is_json_content_type(content_type):
            return answers.error(415, "the request body must be JSON, sent as Content-Type: application/json")
        try:
            request = parse_registration(body)
        except InvalidRequest as problem:
            return answers.invalid(problem)
        existing = registrations.find(request.username)
        if existing is None:
            return self._new_request(request, source)
        return self._known_request(existing, request, source)

    def whoami_by_password(self, username: str, password: str, source: str) -> Answer:
        registration = registrations.find(username)
        if registration is None:
            return answers.unauthorized()
        wait = self._failures.retry_after(registration.username, source)
        if wait is not None:
            return answers.too_many_failures(wait)
        if not self._password_matches(registration, password, source) or registration.status != GRANTED:
            return answers.unauthorized()
        return answers.whoami(registration, "password")

    def whoami_by_certificate(self, certificate_der: bytes) -> Answer:
        certificate = x509.load_der_x509_certificate(certificate_der)
        registration = registrations.find_by_certificate(certificate_fingerprint(certificate))
        if registration is None or registration.status != GRANTED:
            return answers.unauthorized()
        return answers.whoami(registration, "certificate")

    def _new_request(self, request: RegistrationRequest, source: str) -> Answer:
        # Locked: answered before any CSR parsing or password hashing.
        if not self.status().is_open:
            return answers.locked()
        wait = self._new_requests.retry_after(source)
        if wait is not None:
            return answers.too_many_new_requests(wait)
        review = None
        if request.csr_pem is not None:
            try:
                review = check_csr(request.csr_pem, request.username).review
            except CsrError as error:
                return answers.invalid(InvalidRequest([FieldError("csr", str(error))]))
            if registrations.find_by_key(review.key_fingerprint) is not None:
                return answers.key_taken()
        self._new_requests.record(source)
        password_hash = hash_password(request.password)
        now = self.clock()
        try:
            with write_transaction():
                registration = registrations.add_pending(
                    username=request.username,
                    password_hash=password_hash,
                    request_digest=request.digest(),
                    source_address=source,
                    context=request.context,
                    roles=list(request.roles),
                    permissions=[p.to_json() for p in request.permissions],
                    csr_pem=request.csr_pem.strip() + "\n" if request.csr_pem else None,
                    key_fingerprint=review.key_fingerprint if review else None,
                    key_description=review.key_description if review else None,
                    requested_at=now,
                    last_poll_at=now,
                    last_poll_address=source,
                )
                audit.record(now, f"agent {source}", "request", request.username,
                             f"key {review.key_description}, fingerprint {review.key_fingerprint}" if review
                             else "no CSR")
        except UsernameTaken:
            # A concurrent request for the same username won the insert: this one is
            # now a poll of it, and is answered as such.
            existing = registrations.find(request.username)
            if existing is None:
                return answers.error(409, "the username was taken and released while registering; try again")
            return self._known_request(existing, request, source)
        except PublicKeyTaken:
            return answers.key_taken()
        self._verified.remember(registration.username.lower(), password_hash, request.password)
        return answers.pending(registration)

    def _known_request(self, registration: Registration, request: RegistrationRequest, source: str) -> Answer:
        wait = self._failures.retry_after(registration.username, source)
        if wait is not None:
            return answers.too_many_failures(wait)
        if not self._password_matches(registration, request.password, source):
            registrations.record_failed_attempt(registration.id)
            return answers.wrong_password()
        if registration.status == PENDING and request.digest() != registration.request_digest:
            return answers.changed_pending_request()
        self._polls.note(registration.id, self.clock(), source)
        if registration.status == PENDING:
            return answers.pending(registration)
        if registration.status == REJECTED:
            return answers.rejected(registration)
        return answers.granted(registration, self.ca.certificate_pem)

    def _password_matches(self, registration: Registration, password: str, source: str) -> bool:
        if self._verified.check(registration.username.lower(), registration.password_hash, password):
            return True
        self._failures.record(registration.username, source)
        return False

    # ----------------------------------------------------- administrators

    def status(self) -> RegistryStatus:
        open_until = registry_state.open_until()
        now = self.clock()
        if open_until is None or now >= open_until:
            return RegistryStatus(False, None, 0)
        return RegistryStatus(True, open_until, math.ceil(open_until - now))

    def open(self, actor: str, duration: int = DEFAULT_OPEN_SECONDS) -> RegistryStatus:
        """Accept new requests for ``duration`` seconds from now."""
        if not 1 <= duration <= MAX_OPEN_SECONDS:
            raise Refused(f"the registry can be opened for 1 to {MAX_OPEN_SECONDS} seconds, not {duration}")
        now = self.clock()
        with write_transaction():
            registry_state.set_open_until(now + duration)
            audit.record(now, actor, "open", detail=f"for {duration} seconds")
        return self.status()

    def lock(self, actor: str) -> RegistryStatus:
        now = self.clock()
        with write_transaction():
            registry_state.set_open_until(None)
            audit.record(now, actor, "lock")
        return self.status()

    def registrations(self, status: str | None = None) -> list[RegistrationSummary]:
        if status is not None and status not in registrations.STATUSES:
            raise Refused(f"unknown status {status!r}; use one of {', '.join(registrations.STATUSES)}")
        return [RegistrationSummary._make(row) for row in registrations.summaries(status)]

    def changes_since(self, revision: int) -> Changes:
        """Rows changed after ``revision``, read in one snapshot with the new revision."""
        with db.atomic():
            current = registry_state.current_revision()
            rows = registrations.summaries(changed_after=revision)
            total = Registration.select().count()
        return Changes(current, tuple(RegistrationSummary._make(row) for row in rows), total)

    def registration_ids(self) -> set[int]:
        return registrations.all_ids()

    def details(self, username: str) -> RegistrationDetails:
        registration = self._load(username)
        review = load_checked_csr(registration.csr_pem).review if registration.csr_pem else None
        plan = None
        if review is not None and registration.status == PENDING:
            plan = self.ca.plan_client_certificate(registration.username, review.key_algorithm, (), self.clock())
        return RegistrationDetails(
            username=registration.username,
            status=registration.status,
            source_address=registration.source_address,
            requested_at=registration.requested_at,
            last_poll_at=registration.last_poll_at,
            last_poll_address=registration.last_poll_address,
            failed_attempts=registration.failed_attempts,
            context=registration.context,
            roles=tuple(registration.roles),
            permissions=tuple(Permission.from_json(p) for p in registration.permissions),
            csr=review,
            plan=plan,
            decided_at=registration.decided_at,
            decided_by=registration.decided_by,
            reject_reason=registration.reject_reason,
            granted_roles=tuple(registration.granted_roles or ()),
            granted_permissions=tuple(Permission.from_json(p) for p in registration.granted_permissions or ()),
            certificate_serial=registration.certificate_serial,
            certificate_not_after=registration.certificate_not_after,
            certificate_pem=registration.certificate_pem,
        )

    def grant(
        self,
        username: str,
        actor: str,
        *,
        roles: Iterable[str] | None = None,
        permissions: Iterable[Permission] | None = None,
        sans: Iterable[SubjectAltName] = (),
        expected_fingerprint: str | None = None,
    ) -> RegistrationDetails:
        """Grant a pending request; issue its certificate when it sent a CSR.

        ``roles`` and ``permissions`` default to everything requested and may
        only narrow it; ``sans`` must be among the CSR's and defaults to none.
        """
        registration = self._load(username)
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
                expected = normalize_fingerprint(expected_fingerprint)
                if expected != checked.review.key_fingerprint:
                    raise Refused(f"fingerprint mismatch: expected {expected}, "
                                  f"the request's key is {checked.review.key_fingerprint}")
            unknown = [str(san) for san in sans if san not in checked.review.sans]
            if unknown:
                raise Refused(f"the CSR does not ask for {', '.join(unknown)}")
            plan = self.ca.plan_client_certificate(
                registration.username, checked.review.key_algorithm, sans, self.clock())
            certificate = self.ca.issue_client_certificate(checked.csr, plan)
        now = self.clock()
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
            if not registrations.decide(registration.id, **fields):
                raise Refused(f"{registration.username} was decided or deleted meanwhile")
            audit.record(now, actor, "grant", registration.username, _grant_detail(fields, sans))
        return self.details(registration.username)

    def reject(self, username: str, actor: str, reason: str | None = None) -> None:
        registration = self._load(username)
        if registration.status != PENDING:
            raise Refused(f"{registration.username} is {registration.status}, not pending")
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise Refused(f"a reason is at most {MAX_REASON_CHARS} characters; the agent shows it on one line")
        now = self.clock()
        with write_transaction():
            if not registrations.decide(registration.id, status=REJECTED, decided_at=now, decided_by=actor,
                                        reject_reason=reason):
                raise Refused(f"{registration.username} was decided or deleted meanwhile")
            audit.record(now, actor, "reject", registration.username, reason or "")

    def delete(self, username: str, actor: str) -> None:
        """Remove a registration; a granted client's password and certificate stop working at once."""
        registration = self._load(username)
        detail = f"was {registration.status}"
        if registration.certificate_serial:
            detail += f"; certificate serial {registration.certificate_serial} revoked"
        with write_transaction():
            if not registrations.remove(registration.id):
                raise Refused(f"{registration.username} was deleted meanwhile")
            audit.record(self.clock(), actor, "delete", registration.username, detail)

    def flush_polls(self) -> int:
        """Write the polls noted since the last flush (see server.poll_log); how many."""
        return self._polls.flush()

    def expire_stale_requests(self) -> int:
        """Delete pending requests older than the limit, each with an audit entry; how many."""
        max_age = self.limits.pending_max_age_seconds
        if max_age is None:
            return 0
        now = self.clock()
        expired = 0
        for registration in registrations.pending_requested_before(now - max_age):
            with write_transaction():
                if registrations.remove(registration.id, only_if_status=PENDING):
                    audit.record(now, REGISTRY_ACTOR, "expire", registration.username,
                                 f"pending for more than {max_age / 3600:g} hours")
                    expired += 1
        return expired

    def audit_log(self, limit: int | None = None, after_id: int = 0) -> list[AuditRecord]:
        return [AuditRecord(e.id, e.at, e.actor, e.action, e.username, e.detail)
                for e in audit.entries(limit, after_id)]

    def release_connection(self) -> None:
        """Close the calling thread's database connection. For pooled threads that
        outlive their work while the database may be re-pointed (tests do)."""
        close_db()

    def _load(self, username: str) -> Registration:
        registration = registrations.find(username)
        if registration is None:
            raise Refused(f"there is no registration named {username!r}")
        return registration


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
