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
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from server.ca import CertificateAuthority, certificate_fingerprint
from server.csr import CsrError, SubjectAltName, check_csr, load_checked_csr
from server.passwords import VerifiedPasswords, hash_password
from server.throttle import FailureThrottle
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
from storage import audit, db, registrations, registry_state, write_transaction
from storage.models import Registration
from storage.registrations import GRANTED, PENDING, REJECTED, PublicKeyTaken, UsernameTaken

Clock = Callable[[], float]
"""Seconds since the epoch; the one seam through which tests move time."""

DEFAULT_OPEN_SECONDS = 300
MAX_OPEN_SECONDS = 24 * 3600
LOCKED_RETRY_AFTER = 10
PENDING_RETRY_AFTER = 5

# Failed password attempts, counted per window. The per-address-and-username
# limit stops a guesser early; the wider ones bound guessing spread over many
# usernames or many addresses.
FAILURE_WINDOW_SECONDS = 300
FAILURES_PER_USERNAME_AND_ADDRESS = 10
FAILURES_PER_ADDRESS = 30
FAILURES_PER_USERNAME = 100

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Answer:
    """The protocol's answer to an agent: HTTP status, JSON body, optional Retry-After."""

    status: int
    body: dict
    retry_after: int | None = None


class Refused(Exception):
    """An administrative action that cannot be done; the message is one line."""


def error_answer(status: int, message: str, errors: list | None = None, retry_after: int | None = None) -> Answer:
    body = {"status": "error", "message": message}
    if errors is not None:
        body["errors"] = errors
    return Answer(status, body, retry_after)


def normalize_fingerprint(text: str) -> str:
    """Hex with or without colons or spaces, any case -> 64 lowercase hex digits."""
    fingerprint = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(fingerprint):
        raise Refused("a fingerprint is 64 hex digits (SHA-256), with or without colons")
    return fingerprint


class RegistrationService:
    def __init__(self, ca: CertificateAuthority, clock: Clock = time.time):
        self.ca = ca
        self.clock = clock
        self._verified = VerifiedPasswords()
        self._failures = (
            FailureThrottle(FAILURES_PER_USERNAME_AND_ADDRESS, FAILURE_WINDOW_SECONDS, clock),
            FailureThrottle(FAILURES_PER_ADDRESS, FAILURE_WINDOW_SECONDS, clock),
            FailureThrottle(FAILURES_PER_USERNAME, FAILURE_WINDOW_SECONDS, clock),
        )

    # ----------------------------------------------------------- agents

    def register(self, body: bytes, content_type: str | None, source: str) -> Answer:
        """Answer a registration request or poll (SPEC: HTTP API, the status table)."""
        if len(body) > MAX_BODY_BYTES:
            return error_answer(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")
        if not is_json_content_type(content_type):
            return error_answer(415, "the request body must be JSON, sent as Content-Type: application/json")
        try:
            request = parse_registration(body)
        except InvalidRequest as invalid:
            return _invalid_answer(invalid)
        existing = registrations.find(request.username)
        if existing is None:
            return self._new_request(request, source)
        return self._known_request(existing, request, source)

    def whoami_by_password(self, username: str, password: str, source: str) -> Answer:
        registration = registrations.find(username)
        if registration is None:
            return _unauthorized()
        throttled = self._throttled(registration.username, source)
        if throttled:
            return throttled
        if not self._password_matches(registration, password, source):
            return _unauthorized()
        if registration.status != GRANTED:
            return _unauthorized()
        return _whoami_answer(registration, "password")

    def whoami_by_certificate(self, certificate_der: bytes) -> Answer:
        certificate = x509.load_der_x509_certificate(certificate_der)
        registration = registrations.find_by_certificate(certificate_fingerprint(certificate))
        if registration is None or registration.status != GRANTED:
            return _unauthorized()
        return _whoami_answer(registration, "certificate")

    def _new_request(self, request: RegistrationRequest, source: str) -> Answer:
        # Locked: answered before any CSR parsing or password hashing.
        if not self.status().is_open:
            return Answer(423, {"status": "locked", "message": "the registry is locked; ask an administrator to open it"},
                          LOCKED_RETRY_AFTER)
        review = None
        if request.csr_pem is not None:
            try:
                review = check_csr(request.csr_pem, request.username).review
            except CsrError as error:
                return _invalid_answer(InvalidRequest([FieldError("csr", str(error))]))
            if Registration.get_or_none(Registration.key_fingerprint == review.key_fingerprint):
                return _key_taken_answer()
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
                return error_answer(409, "the username was taken and released while registering; try again")
            return self._known_request(existing, request, source)
        except PublicKeyTaken:
            return _key_taken_answer()
        self._verified.remember(registration.username.lower(), password_hash, request.password)
        return _pending_answer(registration)

    def _known_request(self, registration: Registration, request: RegistrationRequest, source: str) -> Answer:
        throttled = self._throttled(registration.username, source)
        if throttled:
            return throttled
        if not self._password_matches(registration, request.password, source):
            registrations.record_failed_attempt(registration.id)
            return error_answer(409, "the username is already registered, with a different password")
        if registration.status == PENDING and request.digest() != registration.request_digest:
            return error_answer(
                409,
                "a pending request cannot change: re-send the same CSR, roles, permissions and context, "
                "or ask an administrator to delete the pending request",
            )
        registrations.record_poll(registration.id, self.clock(), source)
        if registration.status == PENDING:
            return _pending_answer(registration)
        if registration.status == REJECTED:
            return Answer(403, {"status": "rejected",
                                "message": registration.reject_reason or "an administrator rejected the request"})
        return self._granted_answer(registration)

    def _password_matches(self, registration: Registration, password: str, source: str) -> bool:
        if self._verified.check(registration.username.lower(), registration.password_hash, password):
            return True
        for throttle, key in zip(self._failures, self._failure_keys(registration.username, source)):
            throttle.record_failure([key])
        return False

    def _throttled(self, username: str, source: str) -> Answer | None:
        waits = [throttle.retry_after([key])
                 for throttle, key in zip(self._failures, self._failure_keys(username, source))]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is None:
            return None
        return error_answer(429, "too many failed attempts; try again later", retry_after=wait)

    @staticmethod
    def _failure_keys(username: str, source: str) -> tuple:
        return ((username.lower(), source), source, username.lower())

    def _granted_answer(self, registration: Registration) -> Answer:
        body = {
            "status": "granted",
            "username": registration.username,
            "roles": registration.granted_roles,
            "permissions": registration.granted_permissions,
        }
        if registration.certificate_pem:
            body["certificate"] = registration.certificate_pem
        body["caCertificate"] = self.ca.certificate_pem
        return Answer(201, body)

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
        return [RegistrationSummary.from_row(row) for row in registrations.summaries(status)]

    def changes_since(self, revision: int) -> Changes:
        """Rows changed after ``revision``, read in one snapshot with the new revision."""
        with db.atomic():
            current = registry_state.current_revision()
            rows = registrations.summaries(changed_after=revision)
            total = Registration.select().count()
        return Changes(current, tuple(RegistrationSummary.from_row(row) for row in rows), total)

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

    def audit_log(self, limit: int | None = None, after_id: int = 0) -> list[AuditRecord]:
        return [AuditRecord(e.id, e.at, e.actor, e.action, e.username, e.detail)
                for e in audit.entries(limit, after_id)]

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
    parts = [f"roles {', '.join(fields['granted_roles']) or 'none'}",
             f"{len(fields['granted_permissions'])} permissions"]
    if "certificate_serial" in fields:
        parts.append(f"certificate serial {fields['certificate_serial']}")
    if sans:
        parts.append("SANs " + ", ".join(map(str, sans)))
    return "; ".join(parts)


def _invalid_answer(invalid: InvalidRequest) -> Answer:
    errors = [{"field": e.field, "message": e.message} for e in invalid.errors]
    return error_answer(400, str(invalid), errors)


def _key_taken_answer() -> Answer:
    return error_answer(409, "the CSR's public key is already registered under another username")


def _pending_answer(registration: Registration) -> Answer:
    body = {"status": "pending", "message": "waiting for an administrator to review the request"}
    if registration.key_fingerprint:
        body["fingerprint"] = registration.key_fingerprint
    return Answer(202, body, PENDING_RETRY_AFTER)


def _unauthorized() -> Answer:
    return error_answer(401, "authentication required: a granted client's password or certificate")


def _whoami_answer(registration: Registration, method: str) -> Answer:
    return Answer(200, {
        "username": registration.username,
        "roles": registration.granted_roles,
        "permissions": registration.granted_permissions,
        "authenticatedBy": method,
    })
