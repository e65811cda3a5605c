"""Queries on registrations, with the database's own errors translated.

Every write bumps the registry's revision and stamps it on the row, so a
reader (the window) can fetch only what changed since it last looked.
"""

from __future__ import annotations

import functools

from peewee import IntegrityError

from storage.database import write_transaction
from storage.models import Registration
from storage.registry_state import next_revision

PENDING = "pending"
GRANTED = "granted"
REJECTED = "rejected"
STATUSES = (PENDING, GRANTED, REJECTED)

# What a list view needs: no CSR or certificate text.
SUMMARY_FIELDS = (
    Registration.id,
    Registration.username,
    Registration.status,
    Registration.roles,
    Registration.permissions,
    Registration.key_description,
    Registration.source_address,
    Registration.requested_at,
    Registration.last_poll_at,
    Registration.certificate_serial,
    Registration.certificate_not_after,
    Registration.revision,
)


class UsernameTaken(Exception):
    """Another registration already holds this username (in any case)."""


class PublicKeyTaken(Exception):
    """Another registration already holds this CSR's public key."""


def find(username: str) -> Registration | None:
    """The registration for ``username``, compared without regard to case."""
    return _one_by("username", username)


def find_by_key(key_fingerprint: str) -> Registration | None:
    return _one_by("key_fingerprint", key_fingerprint)


def find_by_certificate(certificate_fingerprint: str) -> Registration | None:
    return _one_by("certificate_fingerprint", certificate_fingerprint)


def _one_by(column: str, value: str) -> Registration | None:
    return next(iter(Registration.raw(_select_by(column), value)), None)


@functools.cache
def _select_by(column: str) -> str:
    """The SQL of "the registration whose ``column`` is ?", compiled once.

    peewee compiles a query anew on every call, which for this wide table
    costs thirty times the lookup itself, and every poll looks one up.
    """
    sql, _ = Registration.select().where(getattr(Registration, column) == "").sql()
    return sql


def add_pending(**fields) -> Registration:
    """Insert a new pending registration; raise UsernameTaken or PublicKeyTaken."""
    try:
        with write_transaction():
            return Registration.create(status=PENDING, revision=next_revision(), **fields)
    except IntegrityError as error:
        if "key_fingerprint" in str(error):
            raise PublicKeyTaken(fields.get("key_fingerprint")) from error
        if "username" in str(error):
            raise UsernameTaken(fields.get("username")) from error
        raise


def record_polls(polls: dict[int, tuple[float, str]]) -> None:
    """Store when and from where registrations were last polled, all in one transaction:
    ``{registration id: (time, address)}``."""
    with write_transaction():
        revision = next_revision()
        for registration_id, (at, address) in polls.items():
            Registration.update(last_poll_at=at, last_poll_address=address, revision=revision).where(
                Registration.id == registration_id).execute()


def record_failed_attempt(registration_id: int) -> None:
    with write_transaction():
        Registration.update(
            failed_attempts=Registration.failed_attempts + 1, revision=next_revision()
        ).where(Registration.id == registration_id).execute()


def decide(registration_id: int, **fields) -> bool:
    """Move a pending registration to its decided state in one statement.

    Returns False when it was no longer pending (someone else decided first,
    or it was deleted), so that two admins cannot both decide.
    """
    with write_transaction():
        changed = (
            Registration.update(revision=next_revision(), **fields)
            .where((Registration.id == registration_id) & (Registration.status == PENDING))
            .execute()
        )
    return changed == 1


def remove(registration_id: int, only_if_status: str | None = None) -> bool:
    """Delete a registration (only while it has ``only_if_status``, when given)."""
    condition = Registration.id == registration_id
    if only_if_status is not None:
        condition &= Registration.status == only_if_status
    with write_transaction():
        next_revision()
        return Registration.delete().where(condition).execute() == 1


def summaries(status: str | None = None, changed_after: int | None = None) -> list[dict]:
    """Rows for list views, oldest request first."""
    query = Registration.select(*SUMMARY_FIELDS)
    if status is not None:
        query = query.where(Registration.status == status)
    if changed_after is not None:
        query = query.where(Registration.revision > changed_after)
    return list(query.order_by(Registration.requested_at, Registration.id).dicts())


def all_ids() -> set[int]:
    return {row[0] for row in Registration.select(Registration.id).tuples()}


def pending_requested_before(moment: float) -> list[Registration]:
    return list(
        Registration.select().where(
            (Registration.status == PENDING) & (Registration.requested_at < moment)
        )
    )
