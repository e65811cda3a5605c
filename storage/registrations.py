"""Queries on registrations, with the database's own errors translated.

Every write bumps the registry's revision and stamps it on the row, so a
reader (the window) can fetch only what changed since it last looked. Status
words are the core's: storage stores whatever it is told and filters by what
it is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from storage.compiled import compiled, slot
from storage.database import db, json_array_length, write_transaction
from storage.errors import PublicKeyTaken, UsernameTaken, translated
from storage.models import Registration
from storage.records import RegistrationRecord
from storage.registry_state import next_registration_id, next_revision, next_revision_of_a_decision


def _summary_sql() -> str:
    """Plain SQL: the window reads 10,000 of these at start, and counting the
    permissions in the database spares decoding each row's permission list. Columns
    in the order of server.views.RegistrationSummary; the certificate is the newest
    unrevoked one."""
    return (
        f"SELECT r.id, r.username, r.status, r.roles, {json_array_length('r.permissions')}, r.key_description, "
        "r.source_address, r.requested_at, r.last_poll_at, c.serial, c.not_after, r.revision, r.enrolled_via, "
        "r.pairing_code "
        "FROM registration r LEFT JOIN certificate c ON c.id = "
        "(SELECT MAX(id) FROM certificate WHERE registration_id = r.id AND revoked_at IS NULL)"
    )


@translated
def find(username: str) -> RegistrationRecord | None:
    """The registration for ``username``, compared without regard to case."""
    return _one_by("username", username)


@translated
def find_by_id(registration_id: int) -> RegistrationRecord | None:
    return _one_by("id", registration_id)


@translated
def find_by_key(key_fingerprint: str) -> RegistrationRecord | None:
    return _one_by("key_fingerprint", key_fingerprint)


# Every poll looks a registration up, and the poll-flush chore writes every
# poll's time: those statements are compiled once (storage.compiled).

def _one_by(column: str, value: str) -> RegistrationRecord | None:
    row = _select_by(column).execute(value=value).fetchone()
    return None if row is None else _record(row)


def _record(row: tuple) -> RegistrationRecord:
    """A raw row of ``SELECT *`` (columns in model order) as a record."""
    return RegistrationRecord(**{field.name: field.python_value(stored)
                                 for field, stored in zip(Registration._meta.sorted_fields, row)})


@compiled
def _select_by(column: str):
    """The registration whose ``column`` is ``value``, its columns in model order."""
    return Registration.select().where(getattr(Registration, column) == slot("value"))


@compiled
def _update_last_poll():
    """Never moves a last-poll time backwards: instances flush their polls independently,
    and one may write an older poll of an agent after another wrote a newer one."""
    return Registration.update(last_poll_at=slot("at"), last_poll_address=slot("address"),
                               revision=slot("revision")).where(
        (Registration.id == slot("id")) & (Registration.last_poll_at < slot("at")))


@translated
def add(**fields) -> RegistrationRecord:
    """Insert a new registration; raise UsernameTaken or PublicKeyTaken.

    Checked inside the write transaction, which holds the database's write
    lock, so no concurrent insert can slip between the check and the insert;
    the unique indexes stay as the last line of defence.
    """
    with write_transaction():
        if _one_by("username", fields["username"]) is not None:
            raise UsernameTaken(fields["username"])
        if fields.get("key_fingerprint") and _one_by("key_fingerprint", fields["key_fingerprint"]) is not None:
            raise PublicKeyTaken(fields["key_fingerprint"])
        registration_id = next_registration_id()
        Registration.insert(id=registration_id, revision=next_revision(), **fields).execute()
        return _one_by("id", registration_id)


@translated
def record_polls(polls: dict[int, tuple[float, str]]) -> None:
    """Store when and from where registrations were last polled, all in one transaction:
    ``{registration id: (time, address)}``."""
    with write_transaction():
        revision = next_revision()
        _update_last_poll().execute_many(
            {"at": at, "address": address, "revision": revision, "id": registration_id}
            for registration_id, (at, address) in polls.items())


@translated
def record_failed_attempt(registration_id: int) -> None:
    with write_transaction():
        Registration.update(
            failed_attempts=Registration.failed_attempts + 1, revision=next_revision()
        ).where(Registration.id == registration_id).execute()


@translated
def decide(registration_id: int, while_status: str, **fields) -> bool:
    """Update a registration in one statement, only while it still has ``while_status``; call
    inside the write transaction.

    Returns False when it no longer has (someone else decided first, or it was
    deleted), so that two admins cannot both decide.
    """
    return decide_each([(registration_id, fields)], while_status)[0]


@translated
def decide_each(decisions: Iterable[tuple[int, dict]], while_status: str) -> list[bool]:
    """``decide`` for each (registration id, fields) under one new revision (a reader sees them
    all or none): whether each registration still had ``while_status``. Call inside the write
    transaction: a savepoint of its own cost a grant a tenth of its time."""
    revision = next_revision_of_a_decision()
    return [_decide(tuple(sorted(fields))).execute(id=registration_id, while_status=while_status,
                                                   revision=revision, **fields).rowcount == 1
            for registration_id, fields in decisions]


@compiled
def _decide(columns: tuple[str, ...]):
    """Set ``columns`` and the revision of the registration ``id`` while it has ``while_status``:
    every grant and rejection runs this, a bulk grant once for each name."""
    fields = [getattr(Registration, column) for column in columns]
    return (Registration.update({field: slot(field.name, field) for field in fields}, revision=slot("revision"))
            .where((Registration.id == slot("id")) & (Registration.status == slot("while_status"))))


@translated
def touch(registration_id: int) -> None:
    """Mark a registration changed (its certificates changed) for readers of ``summaries``."""
    Registration.update(revision=next_revision()).where(Registration.id == registration_id).execute()


@translated
def set_key(registration_id: int, key_fingerprint: str) -> None:
    """The client's key after a renewal with a new one; call inside the write transaction."""
    Registration.update(key_fingerprint=key_fingerprint, revision=next_revision()).where(
        Registration.id == registration_id).execute()


@translated
def remove(registration_id: int, only_if_status: str | None = None) -> bool:
    """Delete a registration (only while it has ``only_if_status``, when given)."""
    condition = Registration.id == registration_id
    if only_if_status is not None:
        condition &= Registration.status == only_if_status
    with write_transaction():
        next_revision_of_a_decision()
        return Registration.delete().where(condition).execute() == 1


@translated
def summaries(status: str | None = None, changed_after: int | None = None) -> list[tuple]:
    """Rows for list views (columns as in ``_summary_sql``, roles as a tuple), oldest request first."""
    conditions, parameters = [], []
    if status is not None:
        conditions.append(f"r.status = {db.param}")
        parameters.append(status)
    if changed_after is not None:
        conditions.append(f"r.revision > {db.param}")
        parameters.append(changed_after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    cursor = db.execute_sql(f"{_summary_sql()}{where} ORDER BY r.requested_at, r.id", parameters)
    return [(row[0], row[1], row[2], tuple(json.loads(row[3])), *row[4:]) for row in cursor]


@translated
def count() -> int:
    return Registration.select().count()


@translated
def count_with_status(status: str) -> int:
    return Registration.select().where(Registration.status == status).count()


@translated
def all_ids() -> set[int]:
    return {row[0] for row in Registration.select(Registration.id).tuples()}


@translated
def requested_before(status: str, moment: float) -> list[RegistrationRecord]:
    """Registrations with ``status`` requested before ``moment``."""
    sql, parameters = Registration.select().where(
        (Registration.status == status) & (Registration.requested_at < moment)).sql()
    return [_record(row) for row in db.execute_sql(sql, parameters)]
