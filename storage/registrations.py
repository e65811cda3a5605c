"""Queries on registrations, with the database's own errors translated.

Every write bumps the registry's revision and stamps it on the row, so a
reader (the window) can fetch only what changed since it last looked.
"""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

from peewee import IntegrityError

from storage.database import db, write_transaction
from storage.models import Registration
from storage.registry_state import next_revision

PENDING = "pending"
GRANTED = "granted"
REJECTED = "rejected"
STATUSES = (PENDING, GRANTED, REJECTED)


class SummaryRow(NamedTuple):
    """What a list view needs of a registration: no CSR or certificate text."""

    id: int
    username: str
    status: str
    roles: tuple[str, ...]
    permission_count: int
    key_description: str | None
    source_address: str
    requested_at: float
    last_poll_at: float
    certificate_serial: str | None
    certificate_not_after: float | None
    revision: int


# Plain SQL: the window reads 10,000 of these at start, and counting the
# permissions in SQLite spares decoding each row's permission list.
_SUMMARY_SQL = (
    "SELECT id, username, status, roles, json_array_length(permissions), key_description, source_address, "
    "requested_at, last_poll_at, certificate_serial, certificate_not_after, revision FROM registration"
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


# peewee compiles a query anew on every call, which for this wide table costs
# many times the lookup itself. Every poll looks a registration up, and the
# housekeeping writes every poll's time: those statements are compiled once.

def _one_by(column: str, value: str) -> Registration | None:
    row = db.execute_sql(_select_by(column), (value,)).fetchone()
    if row is None:
        return None
    return Registration(**{field.name: field.python_value(stored)
                           for field, stored in zip(Registration._meta.sorted_fields, row)})


@functools.cache
def _select_by(column: str) -> str:
    """The SQL of "the registration whose ``column`` is ?", its columns in model order."""
    sql, _ = Registration.select().where(getattr(Registration, column) == "").sql()
    return sql


@functools.cache
def _update_last_poll() -> str:
    sql, _ = Registration.update(last_poll_at=0.0, last_poll_address="", revision=0).where(
        Registration.id == 0).sql()
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
        db.connection().executemany(
            _update_last_poll(),
            [(at, address, revision, registration_id) for registration_id, (at, address) in polls.items()])


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


def summaries(status: str | None = None, changed_after: int | None = None) -> list[SummaryRow]:
    """Rows for list views, oldest request first."""
    conditions, parameters = [], []
    if status is not None:
        conditions.append("status = ?")
        parameters.append(status)
    if changed_after is not None:
        conditions.append("revision > ?")
        parameters.append(changed_after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    cursor = db.execute_sql(f"{_SUMMARY_SQL}{where} ORDER BY requested_at, id", parameters)
    return [SummaryRow(row[0], row[1], row[2], tuple(json.loads(row[3])), *row[4:]) for row in cursor]


def all_ids() -> set[int]:
    return {row[0] for row in Registration.select(Registration.id).tuples()}


def pending_requested_before(moment: float) -> list[Registration]:
    return list(
        Registration.select().where(
            (Registration.status == PENDING) & (Registration.requested_at < moment)
        )
    )
