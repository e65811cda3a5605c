"""What administrators do: open and lock, reject, delete, revoke; and the expiry chore.
Grants have a module of their own, ``server.granting``.

Every action is one transaction together with its audit entry, and raises
``Refused`` with a one-line reason when it cannot be done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from server.decisions import attempt, load_reviewed
from server.lifecycle import REASONS, CertificateLifecycle
from server.limits import Limits
from server.notifications import (
    EXPIRED_EVENT,
    REJECTED_EVENT,
    REVOKED_EVENT,
    queue,
)
from server.outcomes import Refused
from server.queries import load
from server.statuses import PENDING, REJECTED
from server.views import Decision, ReviewedRequest
from storage import (
    audit,
    certificates,
    registrations,
    registry_state,
    write_transaction,
)

DEFAULT_OPEN_SECONDS = 300
MAX_OPEN_SECONDS = 24 * 3600
MAX_REASON_CHARS = 500
REGISTRY_ACTOR = "registry"


class Administration:
    def __init__(self, clock: Callable[[], float], limits: Limits, lifecycle: CertificateLifecycle):
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

    def reject_many(self, usernames: Iterable[str], actor: str, reason: str | None = None,
                    reviewed: Mapping[str, ReviewedRequest] | None = None) -> list[Decision]:
        """Reject each pending request, each in its own transaction: one name's refusal changes
        nothing for the others. One result per name, in order. With ``reviewed`` (username →
        the request confirmed), only those requests are rejected."""
        reviewed = reviewed or {}
        return [attempt(username, lambda: self.reject(username, actor, reason, reviewed.get(username)))
                for username in usernames]

    def reject(self, username: str, actor: str, reason: str | None = None,
               reviewed: ReviewedRequest | None = None) -> Decision:
        registration = load_reviewed(username, reviewed)
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

