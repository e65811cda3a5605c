"""The agent protocol: registration requests, polls, renewal and ``whoami``, in domain terms.

Every rule of SPEC's status table lives here; a wire adapter hands in a parsed
request and turns the outcome (``server.outcomes``) into its own answer.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from cryptography import x509

from common.fingerprints import certificate_fingerprint
from server.agent_terms import KEY_TAKEN, agent_actor, permissions_of
from server.ca import CertificateAuthority
from server.csr import CsrError, check_csr
from server.hashing_queue import HashingBusy, HashingQueue
from server.lifecycle import CertificateLifecycle
from server.limits import FailedAttempts, Limits, Throttle, counting_windows
from server.notifications import PENDING_EVENT, queue
from server.outcomes import (
    UNAVAILABLE_RETRY_AFTER,
    AgentOutcome,
    Authenticated,
    Granted,
    Locked,
    Pending,
    RefusalKind,
    Refused,
    Rejected,
)
from server.pairing_codes import new_pairing_code
from server.pending_requests import PendingRequest, PendingRequests
from server.passwords import (
    HASHING_THREADS,
    PasswordTags,
    VerifiedPasswords,
    hash_cpu_seconds,
    hash_seconds,
    start_hashing,
    verify_against_nothing,
)
from server.poll_log import PollLog
from server.poll_pacing import PollPacing
from server.preauthorization import grant_preauthorized, usable
from server.renewal import renew_certificate
from server.statuses import GRANTED, PENDING, REJECTED, VIA_API
from server.validation import FieldError, RegistrationRequest
from storage import (
    DatabaseUnavailable,
    PublicKeyTaken,
    UsernameTaken,
    audit,
    certificates,
    registrations,
    write_transaction,
)
from storage.records import RegistrationRecord

Clock = Callable[[], float]
"""Seconds since the epoch; the one seam through which tests move time."""

WRONG_PASSWORD = "the username is already registered, with a different password"
CHANGED_PENDING = ("a pending request cannot change: re-send the same CSR, roles, permissions and context, "
                   "or ask an administrator to delete the pending request")
TAKEN_MEANWHILE = "the username was taken and released while registering; try again"
TOO_MANY_FAILURES = "too many failed attempts; try again later"
TOO_MANY_NEW_REQUESTS = "too many new registrations from this address; try again later"
UNAUTHENTICATED = "authentication required: a granted client's password or certificate"
NOT_GRANTED = "only a granted client can renew its certificate"
UNAVAILABLE = "the registry cannot store anything right now; try again later"
HASHING_BUSY = "the registry is busy with other new registrations; try again after Retry-After seconds"

log = logging.getLogger(__name__)


def _come_back_later(answer):
    """A database that cannot be used now (a full disk, a lock held too long) is the
    registry's trouble, not the agent's: it is told when to try again, and nothing
    half-done was written (every write is one transaction)."""

    @functools.wraps(answer)
    def guarded(*args, **kwargs):
        try:
            return answer(*args, **kwargs)
        except DatabaseUnavailable as error:
            log.warning("answered %s with 503: %s", answer.__name__, error)
            return Refused(UNAVAILABLE, RefusalKind.UNAVAILABLE, retry_after=UNAVAILABLE_RETRY_AFTER)

    return guarded


class AgentProtocol:
    def __init__(self, ca: CertificateAuthority, clock: Clock, limits: Limits, is_open: Callable[[], bool],
                 lifecycle: CertificateLifecycle):
        self._ca = ca
        self._clock = clock
        self._lifecycle = lifecycle
        self._is_open = is_open
        self._verified = VerifiedPasswords(capacity=registrations.count)
        windows = counting_windows()
        self._failures = FailedAttempts(limits, clock, windows)
        self._new_requests = Throttle(limits.new_requests_per_address, limits.new_request_window_seconds, clock,
                                      name="new-requests-per-address", windows=windows)
        self.polls = PollLog()
        self._pending = PendingRequests()
        self._repeat_tag = PasswordTags().of_bytes
        self._hashing = HashingQueue(limits.registrations_hashing_at_once, HASHING_THREADS, hash_seconds,
                                     hash_cpu_seconds, clock, limits.registration_answer_seconds)
        self._pacing = PollPacing(functools.partial(registrations.count_with_status, PENDING), clock,
                                  limits.pending_polls_per_second)

    @_come_back_later
    def register(self, request: RegistrationRequest, source: str, arrived: float | None = None,
                 sent: bytes | None = None) -> AgentOutcome:
        """A registration request or a poll of one (SPEC: HTTP API, the status table).

        ``arrived``: when the request reached the server (time.monotonic(); None: now),
        from which a new one is answered within ``Limits.registration_answer_seconds``.
        ``sent``: every byte of the request as the wire carried it that makes it this
        request (its password too), so that its repeats are known (``poll_again``)."""
        if arrived is None:
            arrived = time.monotonic()
        existing = self._pending.find(request.username)
        if existing is None:
            return self._new_request(request, source, arrived)
        outcome = self._known_request(existing, request, source)
        if sent is not None and isinstance(outcome, Pending) and isinstance(existing, PendingRequest):
            self._pending.remember_repeat(self._repeat_tag(sent), existing)
        return outcome

    @_come_back_later
    def poll_again(self, sent: bytes, source: str) -> Pending | Refused | None:
        """The answer to a request byte for byte the same as one ``register`` was ``sent``
        and answered "pending", while it still is: without parsing it or checking its
        password again, which it would pass as before. None for any other request."""
        pending = self._pending.find_repeat(self._repeat_tag(sent))
        return None if pending is None else self._still_pending(pending, source)

    @_come_back_later
    def whoami(self, certificate_der: bytes | None, credentials: tuple[str, str] | None,
               source: str) -> Authenticated | Refused:
        """A granted client by its certificate, else by its password (SPEC: whoami)."""
        client = self._granted_client(certificate_der, credentials, source,
                                      Refused(UNAUTHENTICATED, RefusalKind.UNAUTHENTICATED))
        if isinstance(client, Refused):
            return client
        registration, method = client
        return Authenticated(registration.username, tuple(registration.granted_roles or ()),
                             permissions_of(registration.granted_permissions), method)

    @_come_back_later
    def renew(self, certificate_der: bytes | None, credentials: tuple[str, str] | None, csr_pem: str,
              source: str, *, same_subject: bool = False, via: str = VIA_API) -> Granted | Refused:
        """A granted client's new certificate for a new (or the same) key, without an
        administrator and also while locked (SPEC: Renewal). The previous current
        certificate is revoked as superseded in the same transaction.

        ``same_subject``: the CSR's subject must equal the current certificate's, as
        EST's simplereenroll demands (RFC 7030 4.2.2); ``via`` marks the audit entry."""
        client = self._granted_client(certificate_der, credentials, source,
                                      Refused(NOT_GRANTED, RefusalKind.NOT_ALLOWED))
        if isinstance(client, Refused):
            return client
        registration, method = client
        return renew_certificate(registration, method, csr_pem, source, via=via, same_subject=same_subject,
                                 ca=self._ca, clock=self._clock, lifecycle=self._lifecycle)

    def _granted_client(self, certificate_der: bytes | None, credentials: tuple[str, str] | None, source: str,
                        not_granted: Refused) -> tuple[RegistrationRecord, str] | Refused:
        """The authenticated client and how it proved itself; ``not_granted`` when it is not granted."""
        client = self._authenticate(certificate_der, credentials, source)
        if isinstance(client, Refused):
            return client
        return client if client[0].status == GRANTED else not_granted

    def _authenticate(self, certificate_der: bytes | None, credentials: tuple[str, str] | None,
                      source: str) -> tuple[RegistrationRecord, str] | Refused:
        """A client by its current certificate over mutual TLS (granted ones only hold one),
        else by its password; the caller decides what its status allows."""
        if certificate_der:
            fingerprint = certificate_fingerprint(x509.load_der_x509_certificate(certificate_der))
            current = certificates.find_current_by_fingerprint(fingerprint, self._clock())
            registration = registrations.find_by_id(current.registration_id) if current else None
            if registration is not None and registration.status == GRANTED:
                return registration, "certificate"
        if credentials is None:
            return Refused(UNAUTHENTICATED, RefusalKind.UNAUTHENTICATED)
        username, password = credentials
        registration = registrations.find(username)
        if registration is None:
            # As dear as a known username with a wrong password, so that the time
            # of the answer does not tell which usernames exist.
            verify_against_nothing(password)
            return Refused(UNAUTHENTICATED, RefusalKind.UNAUTHENTICATED)
        refusal = self._check_password(registration, password, source)
        if isinstance(refusal, Refused) and refusal.kind is RefusalKind.TOO_MANY_FAILURES:
            return refusal
        if refusal is not None:
            return Refused(UNAUTHENTICATED, RefusalKind.UNAUTHENTICATED)
        return registration, "password"

    def _new_request(self, request: RegistrationRequest, source: str, arrived: float) -> AgentOutcome:
        # A pre-authorised username is let past the lock to have its key compared;
        # for any other, locked is answered before any CSR parsing or password hashing.
        preauthorized = usable(request.username, self._clock()) if request.csr_pem is not None else None
        if preauthorized is None and not self._is_open():
            return Locked()
        # Counted before the CSR is checked: an invalid CSR costs its signature check too.
        wait = self._new_requests.reserve(source)
        if wait is not None:
            return Refused(TOO_MANY_NEW_REQUESTS, RefusalKind.TOO_MANY_NEW_REQUESTS, retry_after=wait)
        # One the hashing queue would turn away is turned away now, before its CSR's signature
        # is checked and its key looked up: most of a burst is answered sooner.
        digest = request.digest()
        hashing_key = f"{request.username.lower()}\0{digest}"
        busy = self._hashing.turned_away(request.password, hashing_key, arrived)
        if busy is not None:
            return self._turned_away(source, busy)
        checked = review = None
        if request.csr_pem is not None:
            try:
                checked = check_csr(request.csr_pem, request.username)
            except CsrError as error:
                problem = FieldError("csr", str(error))
                return Refused(str(problem), RefusalKind.INVALID, errors=(problem,))
            review = checked.review
            holder = registrations.find_by_key(review.key_fingerprint)
            if holder is not None:
                return self._key_holder_answer(holder, request, source)
        if preauthorized is not None and preauthorized.key_fingerprint != review.key_fingerprint:
            preauthorized = None  # another key: the ordinary rules, never a grant
            if not self._is_open():
                return Locked()
        try:
            password_hash = self._hashing.hash(start_hashing, request.password, hashing_key, arrived)
        except HashingBusy as busy:
            return self._turned_away(source, busy.retry_after)
        now = self._clock()
        granted = None
        try:
            with write_transaction():
                registration = registrations.add(
                    username=request.username,
                    status=PENDING,
                    password_hash=password_hash,
                    request_digest=digest,
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
                    enrolled_via=request.enrolled_via,
                    pairing_code=new_pairing_code(),
                )
                audit.record(now, agent_actor(source, request.enrolled_via), "request", request.username,
                             f"key {review.key_description}, fingerprint {review.key_fingerprint}" if review
                             else "no CSR")
                if preauthorized is not None:
                    granted = grant_preauthorized(self._ca, self._lifecycle, registration, checked, preauthorized,
                                                  now)
                    if granted is None:  # a racing request used it: this one goes again, by the ordinary rules
                        raise _UsedMeanwhile
                else:
                    queue(now, PENDING_EVENT, registration.username, pairingCode=registration.pairing_code,
                          keyFingerprint=registration.key_fingerprint, sourceAddress=source)
        except _UsedMeanwhile:
            return self._new_request(request, source, arrived)
        except UsernameTaken:
            # A concurrent request for the same username won the insert: this one is
            # now a poll of it, and is answered as such.
            existing = registrations.find(request.username)
            if existing is None:
                return Refused(TAKEN_MEANWHILE, RefusalKind.TAKEN_MEANWHILE)
            return self._known_request(existing, request, source)
        except PublicKeyTaken:
            holder = registrations.find_by_key(review.key_fingerprint)
            if holder is None:
                return Refused(TAKEN_MEANWHILE, RefusalKind.TAKEN_MEANWHILE)
            return self._key_holder_answer(holder, request, source)
        self._verified.remember(registration.username.lower(), password_hash, request.password)
        return granted or self._pending_answer(registration)

    def _turned_away(self, source: str, retry_after: int) -> Refused:
        self._new_requests.refund(source)  # turned away, not served: it may come back
        return Refused(HASHING_BUSY, RefusalKind.BUSY, retry_after=retry_after)

    def _key_holder_answer(self, holder: RegistrationRecord, request: RegistrationRequest,
                           source: str) -> AgentOutcome:
        """A new request whose key is registered already: a poll, when the same username
        won a concurrent insert of the same request; else the key is another's."""
        if holder.username.lower() == request.username.lower():
            return self._known_request(holder, request, source)
        return Refused(KEY_TAKEN, RefusalKind.KEY_TAKEN)

    def _known_request(self, registration: RegistrationRecord | PendingRequest, request: RegistrationRequest,
                       source: str) -> AgentOutcome:
        refusal = self._check_password(registration, request.password, source)
        if refusal is not None:
            return refusal
        if registration.status == PENDING and request.digest() != registration.request_digest:
            return Refused(CHANGED_PENDING, RefusalKind.CHANGED_PENDING)
        if registration.status == PENDING:
            return self._still_pending(registration, source)
        self.polls.note(registration.id, self._clock(), source)
        if registration.status == REJECTED:
            return Rejected(registration.reject_reason)
        current = certificates.current_of(registration.id, self._clock())
        return Granted(registration.username, tuple(registration.granted_roles or ()),
                       permissions_of(registration.granted_permissions), current.pem if current else None,
                       self._ca.certificate_pem)

    def _still_pending(self, registration: RegistrationRecord | PendingRequest, source: str) -> Pending:
        """The answer to a poll of a pending request, the poll noted for its last-poll time."""
        self.polls.note(registration.id, self._clock(), source)
        return self._pending_answer(registration)

    def _pending_answer(self, registration: RegistrationRecord | PendingRequest) -> Pending:
        return Pending(registration.username, registration.key_fingerprint, self._pacing.retry_after(),
                       pairing_code=registration.pairing_code)

    def _check_password(self, registration: RegistrationRecord | PendingRequest, password: str,
                        source: str) -> Refused | None:
        """None when ``password`` is the registration's; else why not.

        A password scrypt has accepted before (the verified cache) is no guess
        and is never throttled, so that an attacker's wrong guesses cannot lock
        the real agent out. Any other attempt is counted before its scrypt
        starts, and refunded when it turns out right."""
        who = registration.username.lower()
        if self._verified.is_known(who, registration.password_hash, password):
            return None
        wait = self._failures.reserve(registration.username, source)
        if wait is not None:
            return Refused(TOO_MANY_FAILURES, RefusalKind.TOO_MANY_FAILURES, retry_after=wait)
        if self._verified.check(who, registration.password_hash, password):
            self._failures.refund(registration.username, source)
            return None
        registrations.record_failed_attempt(registration.id)
        return Refused(WRONG_PASSWORD, RefusalKind.WRONG_PASSWORD)


class _UsedMeanwhile(Exception):
    """Rolls back a request stored to use a pre-authorisation another request used first."""



