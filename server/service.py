"""The domain core's one facade: what every front end calls.

The window, the admin CLI and each wire adapter (``server.web``: the JSON API,
EST) import this class and nothing deeper. It composes the three jobs of
the core, each in its own module:

- ``server.agents``: the agent protocol (registration, polls, renewal, whoami),
  answering outcomes (``server.outcomes``) that the adapters turn into their
  wire format;
- ``server.administration``: open, lock, reject, delete, revoke, expiry;
- ``server.granting``: grants, one or many (checked and signed outside the write lock);
- ``server.queries``: status, registrations, details, audit trail;
- ``server.lifecycle``: issued certificates kept, revoked and published on the CRL;
- ``server.preauthorization``: devices granted on their first request (fleets);
- ``server.notifications``: the outbox of events for ``--notify-url``.

Storage errors reach callers as ``storage``'s own types, re-exported here as
``RegistryUnavailable``; refusals as ``Refused`` with a one-line message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from server.administration import (
    DEFAULT_OPEN_SECONDS,
    MAX_OPEN_SECONDS,
    MAX_REASON_CHARS,
    Administration,
)
from server.agents import AgentProtocol, Clock
from server.ca import CertificateAuthority
from server.csr import SubjectAltName
from server.granting import Granting
from server.lifecycle import CertificateLifecycle, CertificateView, CrlInfo
from server.limits import Limits
from server.notifications import prune
from server.outcomes import AgentOutcome, Authenticated, Granted, Pending, Refused
from server.preauthorization import Preauthorizations, Preauthorized, checked_entry
from server.preauthorization_csv import parse_csv
from server.queries import Queries
from server.statuses import VIA_API
from server.terms import fingerprint_argument
from server.validation import Permission, RegistrationRequest
from server.views import (
    AuditRecord,
    Changes,
    Decision,
    PreauthorizationView,
    RegistrationDetails,
    RegistrationSummary,
    RegistryStatus,
    ReviewedRequest,
)
from storage import StorageError as RegistryUnavailable
from storage import close_db, done_with_connection, rate_windows

__all__ = [
    "Clock", "DEFAULT_OPEN_SECONDS", "MAX_OPEN_SECONDS", "MAX_REASON_CHARS", "Refused", "RegistrationService",
    "Decision", "PreauthorizationView", "Preauthorized", "RegistryUnavailable",
    "fingerprint_argument",
]


class RegistrationService:
    def __init__(self, ca: CertificateAuthority, clock: Clock = time.time, limits: Limits = Limits(), *,
                 publish_crl: Callable[[bytes], None] = lambda der: None, crl_url: str | None = None):
        """``publish_crl`` gets each new CRL's DER after it is stored (the wiring writes
        ``crl.pem``); ``crl_url`` goes into issued certificates as their CRL distribution point."""
        self.ca = ca
        self.clock = clock
        self.limits = limits
        self._lifecycle = CertificateLifecycle(ca, clock, publish_crl, crl_url)
        self._queries = Queries(ca, clock, self._lifecycle)
        self._agents = AgentProtocol(ca, clock, limits, self._queries.is_open, self._lifecycle)
        self._administration = Administration(clock, limits, self._lifecycle)
        self._granting = Granting(ca, clock, self._lifecycle)
        self._preauthorizations = Preauthorizations(clock)

    # ----------------------------------------------------------- agents

    def register(self, request: RegistrationRequest, source: str, arrived: float | None = None,
                 sent: bytes | None = None) -> AgentOutcome:
        return self._agents.register(request, source, arrived, sent)

    def poll_again(self, sent: bytes, source: str) -> Pending | Refused | None:
        return self._agents.poll_again(sent, source)

    def whoami(self, certificate_der: bytes | None, credentials: tuple[str, str] | None,
               source: str) -> Authenticated | Refused:
        return self._agents.whoami(certificate_der, credentials, source)

    def renew(self, certificate_der: bytes | None, credentials: tuple[str, str] | None, csr_pem: str,
              source: str, *, same_subject: bool = False, via: str = VIA_API) -> Granted | Refused:
        return self._agents.renew(certificate_der, credentials, csr_pem, source, same_subject=same_subject, via=via)

    def crl(self) -> CrlInfo:
        """The current CRL, as served at the CRL endpoint and printed by ``admin crl``."""
        return self._lifecycle.current_crl()

    # ----------------------------------------------------- administrators

    def open(self, actor: str, duration: int = DEFAULT_OPEN_SECONDS) -> RegistryStatus:
        self._administration.open(actor, duration)
        return self.status()

    def lock(self, actor: str) -> RegistryStatus:
        self._administration.lock(actor)
        return self.status()

    def grant(self, username: str, actor: str, *, roles: Iterable[str] | None = None,
              permissions: Iterable[Permission] | None = None, sans: Iterable[SubjectAltName] = (),
              expected_fingerprint: str | None = None, reviewed: ReviewedRequest | None = None) -> Decision:
        """Grant one pending request (``server.granting``); Refused when it cannot be. The
        Decision names the certificate issued; ``details`` reads the rest."""
        return self._granting.grant(username, actor, roles=roles, permissions=permissions, sans=sans,
                                    expected_fingerprint=expected_fingerprint, reviewed=reviewed)

    def reject(self, username: str, actor: str, reason: str | None = None,
               reviewed: ReviewedRequest | None = None) -> None:
        self._administration.reject(username, actor, reason, reviewed)

    def grant_many(self, usernames: Iterable[str], actor: str,
                   reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        """Grant each pending request as requested; one ``Decision`` per name, in order, each
        done or refused on its own (a refusal changes nothing for the others), written a batch
        of names per transaction (``server.granting``). ``reviewed``
        names the requests an administrator confirmed, as for ``grant``."""
        return self._granting.grant_many(usernames, actor, reviewed)

    def reject_many(self, usernames: Iterable[str], actor: str, reason: str | None = None,
                    reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        return self._administration.reject_many(usernames, actor, reason, reviewed)

    def preauthorize(self, username: str, fingerprint: str, actor: str, *, roles: Iterable[str] = (),
                     permissions: Iterable[str] = (), expires_hours: float | None = None) -> Preauthorized:
        """Pre-authorise a device by its username and key fingerprint (hex, any case, colons
        allowed), with the most it may be granted; ``permissions`` as ``CONTEXT:OPERATION:RESOURCE``.
        Replaces an earlier pre-authorisation of the username."""
        entry = checked_entry(username, fingerprint, roles, permissions)
        return self._preauthorizations.add([entry], actor, expires_hours)[0]

    def import_preauthorizations(self, csv_text: str, actor: str,
                                 expires_hours: float | None = None) -> list[Preauthorized]:
        """Pre-authorise every device of a CSV list (``server.preauthorization_csv``): all, or
        none and Refused naming each bad line. One result per line."""
        return self._preauthorizations.add(parse_csv(csv_text), actor, expires_hours)

    def unpreauthorize(self, username: str, actor: str) -> None:
        self._preauthorizations.remove(username, actor)

    def preauthorizations(self) -> list[PreauthorizationView]:
        """Every pre-authorisation, unused, used or expired, oldest first."""
        return self._preauthorizations.listed()

    def delete(self, username: str, actor: str) -> None:
        self._administration.delete(username, actor)

    def revoke(self, username: str, actor: str, reason: str = "unspecified") -> str:
        return self._administration.revoke(username, actor, reason)

    def record_backup(self, actor: str, target: str) -> None:
        self._administration.record_backup(actor, target)

    def record_restore(self, actor: str, source: str) -> None:
        self._administration.record_restore(actor, source)

    # ------------------------------------------------------------ reading

    def status(self) -> RegistryStatus:
        return self._queries.status()

    def registrations(self, status: str | None = None) -> list[RegistrationSummary]:
        return self._queries.registrations(status)

    def changes_since(self, revision: int) -> Changes:
        return self._queries.changes_since(revision)

    def registration_ids(self) -> set[int]:
        return self._queries.registration_ids()

    def details(self, username: str) -> RegistrationDetails:
        return self._queries.details(username)

    def audit_log(self, limit: int | None = None, after_id: int = 0) -> list[AuditRecord]:
        return self._queries.audit_log(limit, after_id)

    def certificates(self, username: str | None = None) -> list[CertificateView]:
        return self._lifecycle.listed(username)

    # ------------------------------------------------------------- chores

    def flush_polls(self) -> int:
        """Write the polls noted since the last flush (see server.poll_log); how many."""
        return self._agents.polls.flush()

    def expire_stale_requests(self) -> int:
        return self._administration.expire_stale_requests()

    def reissue_crl_if_due(self) -> CrlInfo | None:
        return self._lifecycle.reissue_if_due()

    def prune_records(self) -> int:
        """Forget notifications sent or given up long ago and rate-limit windows long over."""
        now = self.clock()
        return prune(now) + rate_windows.prune(now - self.limits.longest_window_seconds)

    def release_connection(self) -> None:
        """Close the calling thread's database connection. For pooled threads that
        outlive their work while the database may be re-pointed (tests do)."""
        close_db()

    def done_with_connection(self) -> None:
        """The end of a request: a pooled database connection goes back to the pool."""
        done_with_connection()
