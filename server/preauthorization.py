"""Pre-authorised devices: a request that matches one is granted at once, even while locked.

An administrator who knows a device's username and key fingerprint before it
asks (a commissioning list) pre-authorises it with the roles and permissions it
may have. Its first request is then granted in the transaction that stores it,
and answered 201 with the certificate: the requested roles and permissions that
the pre-authorisation allows. The pre-authorisation is used up in that same
transaction, so two racing requests cannot both use it. A request for that
username with another key is never granted this way: it follows the ordinary
rules, and its review warns (``key_warning``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.ca import CertificateAuthority
from server.csr import CheckedCsr
from server.lifecycle import CertificateLifecycle
from server.notifications import GRANTED_EVENT, queue
from server.outcomes import Granted, Refused
from server.statuses import GRANTED, PENDING
from server.terms import fingerprint_argument, grant_detail
from server.validation import InvalidRequest, Permission, parse_grantable, username_problem
from server.views import PreauthorizationView
from storage import audit, preauthorizations, registrations, write_transaction
from storage.records import PreauthorizationRecord, RegistrationRecord

UNUSED, USED, EXPIRED = "unused", "used", "expired"
MAX_EXPIRES_HOURS = 24 * 366


@dataclass(frozen=True)
class Preauthorized:
    """One device pre-authorised: whether it replaced an earlier pre-authorisation of its
    username, and its line when it came from a file."""

    username: str
    replaced: bool
    line: int | None = None


@dataclass(frozen=True)
class Entry:
    """A pre-authorisation as given: checked, not yet stored."""

    username: str
    key_fingerprint: str
    roles: tuple[str, ...]
    permissions: tuple[Permission, ...]
    line: int | None = None  # in the file it came from


def checked_entry(username: str, fingerprint: str, roles: Iterable[str], permissions: Iterable[str],
                  line: int | None = None) -> Entry:
    """An entry by the rules of a registration request; Refused naming what is wrong.
    ``permissions`` are written ``CONTEXT:OPERATION:RESOURCE``."""
    if problem := username_problem(username):
        raise Refused(f"username {username!r}: {problem}")
    documents = []
    for text in permissions:
        context, operation, resource = (text.split(":", 2) + ["", ""])[:3]
        documents.append({"context": context, "operation": operation, "resource": resource})
    try:
        checked_roles, checked_permissions = parse_grantable(list(roles), documents)
    except InvalidRequest as problem:
        raise Refused(str(problem)) from None
    return Entry(username, fingerprint_argument(fingerprint), checked_roles, checked_permissions, line)


class Preauthorizations:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock

    def add(self, entries: Iterable[Entry], actor: str, expires_hours: float | None = None) -> list[Preauthorized]:
        """Store every entry, each replacing any earlier one of its username, all in one
        transaction with their audit entries."""
        if expires_hours is not None and not 0 < expires_hours <= MAX_EXPIRES_HOURS:
            raise Refused(f"a pre-authorisation expires after 0 to {MAX_EXPIRES_HOURS} hours, not {expires_hours:g}")
        now = self._clock()
        expires_at = None if expires_hours is None else now + expires_hours * 3600
        results = []
        with write_transaction():
            for entry in entries:
                replaced = preauthorizations.put(
                    username=entry.username, key_fingerprint=entry.key_fingerprint, roles=list(entry.roles),
                    permissions=[p.to_json() for p in entry.permissions], created_at=now, created_by=actor,
                    expires_at=expires_at)
                audit.record(now, actor, "preauthorize", entry.username,
                             f"key fingerprint {entry.key_fingerprint}; "
                             + grant_detail(entry.roles, entry.permissions, None, ())
                             + (f"; expires in {expires_hours:g} hours" if expires_hours else "")
                             + ("; replaces the earlier one" if replaced else ""))
                results.append(Preauthorized(entry.username, replaced, entry.line))
        return results

    def remove(self, username: str, actor: str) -> None:
        with write_transaction():
            if not preauthorizations.remove(username):
                raise Refused(f"there is no pre-authorisation for {username!r}")
            audit.record(self._clock(), actor, "unpreauthorize", username)

    def listed(self) -> list[PreauthorizationView]:
        now = self._clock()
        return [PreauthorizationView(record.username, record.key_fingerprint, tuple(record.roles),
                                     tuple(map(Permission.from_json, record.permissions)), record.created_at,
                                     record.created_by, record.expires_at, record.used_at, _state(record, now))
                for record in preauthorizations.listed()]


def usable(username: str, now: float) -> PreauthorizationRecord | None:
    """The unused, unexpired pre-authorisation of ``username``, if there is one."""
    record = preauthorizations.find(username)
    return record if record is not None and _state(record, now) == UNUSED else None


def grant_preauthorized(ca: CertificateAuthority, lifecycle: CertificateLifecycle, registration: RegistrationRecord,
                        checked: CheckedCsr, preauthorization: PreauthorizationRecord, now: float) -> Granted | None:
    """Grant ``registration``, just stored as pending with the pre-authorised key, and use the
    pre-authorisation up; None (nothing done) when another request used it meanwhile.
    Call inside the write transaction that stored the registration."""
    if not preauthorizations.use(preauthorization.id, now):
        return None
    allowed = set(map(Permission.from_json, preauthorization.permissions))
    roles = tuple(role for role in registration.roles if role in preauthorization.roles)
    permissions = tuple(p for p in map(Permission.from_json, registration.permissions) if p in allowed)
    actor = f"pre-authorisation by {preauthorization.created_by}"
    plan = ca.plan_client_certificate(registration.username, checked.review.key_algorithm, (), now)
    registrations.decide(registration.id, PENDING, status=GRANTED, decided_at=now, decided_by=actor,
                         granted_roles=list(roles), granted_permissions=[p.to_json() for p in permissions])
    certificate = lifecycle.issue(registration.id, registration.username, checked.public_key, plan)
    serial = certificate.serial
    audit.record(now, actor, "grant", registration.username, grant_detail(roles, permissions, serial, ()))
    queue(now, GRANTED_EVENT, registration.username, roles=list(roles), certificateSerial=serial,
          preauthorized=True)
    return Granted(registration.username, roles, permissions, certificate.pem, ca.certificate_pem)


def key_warning(registration: RegistrationRecord, now: float) -> str | None:
    """For the review of a pending request whose username is pre-authorised for another key."""
    if registration.status != PENDING:
        return None
    record = usable(registration.username, now)
    if record is None or record.key_fingerprint == registration.key_fingerprint:
        return None
    return (f"the key differs from the pre-authorised one ({record.key_fingerprint}): "
            "this request was not granted automatically")


def _state(record: PreauthorizationRecord, now: float) -> str:
    if record.used_at is not None:
        return USED
    if record.expires_at is not None and now >= record.expires_at:
        return EXPIRED
    return UNUSED
