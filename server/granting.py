"""Granting pending requests, one at a time (the window, ``admin grant NAME``) or by the
thousand (``admin grant --all-pending``, a multi-row selection), by one path.

A grant is checked against the request that was reviewed and its certificate
signed before the write lock is taken; then it is written, in one transaction
with its certificate, audit entry and event, only while the request is still
pending. A bulk grant writes a batch of grants per transaction, and so do grants
asked for side by side by several threads (``server.combining``): a request
decided or deleted meanwhile is refused alone, and its certificate, never
stored nor sent, is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from server.ca import CertificateAuthority, IssuancePlan
from server.combining import Combiner
from server.csr import SubjectAltName, load_checked_csr
from server.decisions import attempt, load_reviewed
from server.lifecycle import CertificateLifecycle, SignedCertificate
from server.notifications import GRANTED_EVENT, queue_each
from server.outcomes import Refused
from server.statuses import GRANTED, PENDING
from server.terms import fingerprint_argument, grant_detail
from server.validation import Permission
from server.views import Decision, ReviewedRequest
from storage import audit, registrations, write_transaction
from storage.records import RegistrationRecord

# A bulk grant writes this many grants in one transaction: few commits, and the write lock
# held for a few milliseconds at a time, so agents' requests and the poll flush go on meanwhile.
GRANTS_PER_TRANSACTION = 100


@dataclass(frozen=True)
class _GrantAsked:
    """One grant as it was asked for (``Granting.grant`` says what each part means)."""

    username: str
    actor: str
    roles: Iterable[str] | None = None
    permissions: Iterable[Permission] | None = None
    sans: tuple[SubjectAltName, ...] = ()
    expected_fingerprint: str | None = None
    reviewed: ReviewedRequest | None = None


@dataclass(frozen=True)
class _CheckedGrant:
    """A grant that passed every check: its certificate is signed next, and all is stored
    if the request is still pending by then."""

    registration: RegistrationRecord
    actor: str
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    sans: tuple[SubjectAltName, ...]
    public_key: CertificatePublicKeyTypes | None  # the CSR's; none: a request for a password only
    plan: IssuancePlan | None


class Granting:
    def __init__(self, ca: CertificateAuthority, clock: Callable[[], float], lifecycle: CertificateLifecycle):
        self._ca = ca
        self._clock = clock
        self._lifecycle = lifecycle
        self._side_by_side = Combiner(self._grant_each)

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
        decision = self._side_by_side.submit(
            _GrantAsked(username, actor, roles, permissions, tuple(sans), expected_fingerprint, reviewed))
        if not decision.done:
            raise Refused(decision.refusal)
        return decision

    def _grant_each(self, asked: list[_GrantAsked]) -> list[Decision]:
        """The grants asked for side by side, checked and signed, then written in one transaction."""
        return self._write_checked([attempt(grant.username, lambda grant=grant: self._check(grant))
                                    for grant in asked])

    def grant_many(self, usernames: Iterable[str], actor: str,
                   reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        """Grant each pending request as requested; one result per name, in order, each
        granted or refused on its own. With ``reviewed`` (username → the request
        confirmed), only those requests are granted."""
        reviewed = reviewed or {}
        decisions = []
        for batch in _batches(usernames):
            decisions += self._write_checked([
                attempt(name, lambda: self._check(_GrantAsked(name, actor, reviewed=reviewed.get(name))))
                for name in batch])
        return decisions

    def _write_checked(self, checked: list[_CheckedGrant | Decision]) -> list[Decision]:
        """Sign and write the checked grants among ``checked``; one result for each, in order
        (a refusal as it is)."""
        grants = [item for item in checked if isinstance(item, _CheckedGrant)]
        # All the checks, then all the signatures: taken in turn, each evicts the other's
        # code and data from the processor's caches, and a bulk grant takes a fifth longer.
        written = iter(self._write(grants, [self._sign(grant) for grant in grants]))
        return [next(written) if isinstance(item, _CheckedGrant) else item for item in checked]

    def _check(self, asked: _GrantAsked) -> _CheckedGrant:
        """A grant by every rule; Refused saying which rule it breaks."""
        registration = load_reviewed(asked.username, asked.reviewed)
        if registration.status != PENDING:
            raise Refused(f"{registration.username} is {registration.status}, not pending")
        requested_permissions = [Permission.from_json(p) for p in registration.permissions]
        granted_roles = _subset(asked.roles, registration.roles, "role")
        granted_permissions = _subset(asked.permissions, requested_permissions, "permission")
        sans, expected_fingerprint = asked.sans, asked.expected_fingerprint
        if registration.csr_pem is None:
            if expected_fingerprint is not None:
                raise Refused(f"{registration.username} sent no CSR, so there is no key fingerprint to compare")
            if sans:
                raise Refused(f"{registration.username} sent no CSR, so no SANs can be issued")
            return _CheckedGrant(registration, asked.actor, granted_roles, granted_permissions, sans, None, None)
        checked = load_checked_csr(registration.csr_pem)
        if expected_fingerprint is not None:
            expected = fingerprint_argument(expected_fingerprint)
            if expected != checked.review.key_fingerprint:
                raise Refused(f"fingerprint mismatch: expected {expected}, "
                              f"the request's key is {checked.review.key_fingerprint}")
        unknown = [str(san) for san in sans if san not in checked.review.sans]
        if unknown:
            raise Refused(f"the CSR does not ask for {', '.join(unknown)}")
        plan = self._ca.plan_client_certificate(registration.username, checked.key_algorithm, sans,
                                                self._clock())
        return _CheckedGrant(registration, asked.actor, granted_roles, granted_permissions, sans, checked.public_key,
                             plan)

    def _sign(self, grant: _CheckedGrant) -> SignedCertificate | None:
        """The grant's certificate, signed before the write lock is taken so that the lock
        is held only to write."""
        return None if grant.public_key is None else self._lifecycle.sign(grant.public_key, grant.plan)

    def _write(self, grants: list[_CheckedGrant], certificates: list[SignedCertificate | None]) -> list[Decision]:
        """Write checked grants and their certificates in one transaction, each only while its
        request is still pending, with its audit entry and event; one result per grant, in order."""
        if not grants:
            return []
        now = self._clock()
        with write_transaction():
            still_pending = registrations.decide_each(
                [(grant.registration.id, {"status": GRANTED, "decided_at": now, "decided_by": grant.actor,
                                          "granted_roles": list(grant.roles),
                                          "granted_permissions": [p.to_json() for p in grant.permissions]})
                 for grant in grants], PENDING)
            granted = [(grant, certificate)
                       for grant, certificate, decided in zip(grants, certificates, still_pending) if decided]
            # Each kind of row, for all the grants at once: one call to the database for each.
            self._lifecycle.keep_each((grant.registration.id, grant.registration.username, certificate)
                                      for grant, certificate in granted if certificate is not None)
            audit.record_each((now, grant.actor, "grant", grant.registration.username,
                               grant_detail(grant.roles, grant.permissions, _serial(certificate), grant.sans))
                              for grant, certificate in granted)
            queue_each((now, GRANTED_EVENT, grant.registration.username,
                        {"roles": list(grant.roles), "certificateSerial": _serial(certificate)})
                       for grant, certificate in granted)
        return [_granted(grant, certificate) if decided else _decided_meanwhile(grant)
                for grant, certificate, decided in zip(grants, certificates, still_pending)]


def _serial(certificate: SignedCertificate | None) -> str | None:
    return None if certificate is None else certificate.serial


def _granted(grant: _CheckedGrant, certificate: SignedCertificate | None) -> Decision:
    return Decision(grant.registration.username, certificate_serial=_serial(certificate),
                    certificate_not_after=None if certificate is None else certificate.not_after)


def _decided_meanwhile(grant: _CheckedGrant) -> Decision:
    """Refused: another administrator decided, or someone deleted, the request after it was
    checked. Its certificate, never stored nor sent, is dropped."""
    username = grant.registration.username
    return Decision(username, refusal=f"{username} was decided or deleted meanwhile")


def _batches(usernames: Iterable[str]) -> Iterator[list[str]]:
    """The names in order, GRANTS_PER_TRANSACTION at a time. A name already in the batch
    starts the next one, so that it is checked after the first is written, and refused
    as any decision on a decided request is ("… is granted, not pending")."""
    batch: list[str] = []
    folded: set[str] = set()  # usernames are ASCII and compared without regard to case
    for username in usernames:
        if len(batch) == GRANTS_PER_TRANSACTION or username.lower() in folded:
            yield batch
            batch, folded = [], set()
        batch.append(username)
        folded.add(username.lower())
    if batch:
        yield batch


def _subset(chosen, requested, what: str) -> tuple:
    if chosen is None:
        return tuple(requested)
    chosen = tuple(chosen)
    extra = [item for item in chosen if item not in requested]
    if extra:
        raise Refused(f"the request did not ask for the {what} {extra[0]}")
    return chosen
