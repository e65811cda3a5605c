"""Many stored registrations, inserted straight into the registry's database.

100,000 real scrypt hashes would take about two hours, so these rows share
one precomputed hash: they fill the tables and indexes exactly as real rows
do, and are never polled. Their other fields look like real ones (a mix of
pending, granted and rejected; key types; roles; certificate serials; times
within the last few hours, so housekeeping expires none of them), so a window
showing them does the same work as with real agents.

Values go through the model's own field conversions; the rows go in with one
prepared INSERT run many times, ten times faster than peewee's insert_many.
Their ids are taken from the registry's id counter, as the service takes them,
so registrations made afterwards get ids of their own.
"""

from __future__ import annotations

import hashlib
import time
from itertools import cycle

from server.passwords import hash_password
from storage import db, write_transaction
from storage.models import Registration, RegistryState
from server.statuses import GRANTED, PENDING, REJECTED, VIA_API
from storage.registry_state import next_revision

_CHUNK = 5000  # rows per transaction
_SECONDS_APART = 0.1  # 100,000 requests over less than three hours
_FIELDS = list(Registration._meta.sorted_fields)  # the id included
_INSERT = 'INSERT INTO "{table}" ({columns}) VALUES ({marks})'.format(
    table=Registration._meta.table_name,
    columns=", ".join(f'"{field.column_name}"' for field in _FIELDS),
    marks=", ".join("?" for _ in _FIELDS),
)


MIXED = (PENDING, GRANTED, GRANTED, REJECTED)


def store_registrations(count: int, prefix: str = "stored", now: float | None = None,
                        statuses: tuple[str, ...] = MIXED) -> None:
    """Insert ``count`` registrations named ``{prefix}000000``… into the open database,
    their statuses taken in turn from ``statuses``."""
    now = time.time() if now is None else now
    shared_hash = hash_password("never polled")
    statuses = cycle(statuses)
    keys = cycle(("EC P-256", "EC P-256", "RSA 2048", None))
    for start in range(0, count, _CHUNK):
        with write_transaction():
            revision = next_revision()
            numbers = range(start, min(count, start + _CHUNK))
            first_id = _reserve_ids(len(numbers))
            rows = [dict(_row(f"{prefix}{i:06d}", next(statuses), next(keys), shared_hash,
                              now - (count - i) * _SECONDS_APART, revision), id=first_id + offset)
                    for offset, i in enumerate(numbers)]
            db.connection().executemany(
                _INSERT, [tuple(field.db_value(row.get(field.name)) for field in _FIELDS) for row in rows])


def _reserve_ids(count: int) -> int:
    """The first of ``count`` registration ids never handed out before (inside the write transaction)."""
    last = (RegistryState.update(last_registration_id=RegistryState.last_registration_id + count)
            .where(RegistryState.id == RegistryState.SINGLETON_ID)
            .returning(RegistryState.last_registration_id).execute()[0].last_registration_id)
    return last - count + 1


def _row(username: str, status: str, key: str | None, password_hash: str, at: float, revision: int) -> dict:
    unique = hashlib.sha256(username.encode()).hexdigest()
    row = dict(
        username=username, password_hash=password_hash, status=status, request_digest=unique,
        source_address="10." + ".".join(str(int(unique[i:i + 2], 16)) for i in (0, 2, 4)),
        context={"host": f"{username}.plant.example"}, roles=["plc-reader"],
        permissions=[{"resource": "line3/#", "operation": "read", "context": "mqtt"}],
        key_fingerprint=unique if key else None, key_description=key,
        requested_at=at, last_poll_at=at + 30, last_poll_address="10.0.0.1", failed_attempts=0,
        revision=revision, enrolled_via=VIA_API,
    )
    if status != PENDING:
        row.update(decided_at=at + 60, decided_by="benchmark")
    if status == GRANTED:
        row.update(granted_roles=["plc-reader"], granted_permissions=row["permissions"])
        if key:
            row.update(certificate_serial=unique[:32], certificate_not_after=at + 365 * 86400)
    return row
