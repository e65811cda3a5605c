"""Every certificate the registry issued: kept for the life of the registry.

A certificate is *current* while it is neither revoked nor expired; a client
has at most one (the core revokes the previous one in the transaction that
issues the next).
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import fn

from storage.compiled import compiled, slot
from storage.errors import translated
from storage.models import Certificate
from storage.records import CertificateRecord


def _records(query) -> list[CertificateRecord]:
    return [CertificateRecord(*row) for row in query.tuples()]


def _select():
    return Certificate.select(
        Certificate.id, Certificate.registration_id, Certificate.username, Certificate.serial,
        Certificate.fingerprint, Certificate.pem, Certificate.issued_at, Certificate.not_after,
        Certificate.revoked_at, Certificate.revocation_reason)


def _current(now: float):
    return Certificate.revoked_at.is_null() & (Certificate.not_after > now)


@translated
def add(*, registration_id: int, username: str, serial: str, fingerprint: str, pem: str, issued_at: float,
        not_after: float) -> None:
    """Keep an issued certificate; call inside the write transaction that grants or renews."""
    add_each([{"registration_id": registration_id, "username": username, "serial": serial,
               "fingerprint": fingerprint, "pem": pem, "issued_at": issued_at, "not_after": not_after}])


@translated
def add_each(certificates: Iterable[dict]) -> None:
    """Certificates given as ``add``'s keyword arguments, in one call to the database (a bulk grant's)."""
    _insert().execute_many(certificates)


@compiled
def _insert():
    """Every grant runs this: compiled once. Without the RETURNING of the new id that peewee
    adds where the database has it (nobody reads it, and executemany takes no RETURNING)."""
    return Certificate.insert({field: slot(field.name) for field in (
        Certificate.registration_id, Certificate.username, Certificate.serial, Certificate.fingerprint,
        Certificate.pem, Certificate.issued_at, Certificate.not_after)}).returning()


@translated
def revoke_current(registration_id: int, at: float, reason: str) -> list[CertificateRecord]:
    """Revoke every unrevoked certificate of a registration (also expired ones, so a
    deleted client leaves nothing unrevoked); the ones that were revoked."""
    condition = (Certificate.registration_id == registration_id) & Certificate.revoked_at.is_null()
    revoked = _records(_select().where(condition))
    Certificate.update(revoked_at=at, revocation_reason=reason).where(condition).execute()
    return revoked


@translated
def revoke(serial: str, at: float, reason: str) -> bool:
    """Revoke one certificate by serial; False if it was revoked already or is unknown."""
    return Certificate.update(revoked_at=at, revocation_reason=reason).where(
        (Certificate.serial == serial) & Certificate.revoked_at.is_null()).execute() == 1


@translated
def current_of(registration_id: int, now: float) -> CertificateRecord | None:
    rows = _records(_select().where((Certificate.registration_id == registration_id) & _current(now))
                    .order_by(Certificate.id.desc()).limit(1))
    return rows[0] if rows else None


@translated
def newest_of(registration_id: int) -> CertificateRecord | None:
    """The last certificate issued to a registration, revoked or not."""
    rows = _records(_select().where(Certificate.registration_id == registration_id)
                    .order_by(Certificate.id.desc()).limit(1))
    return rows[0] if rows else None


@translated
def of_registration(registration_id: int) -> list[CertificateRecord]:
    """A registration's certificates, oldest first."""
    return _records(_select().where(Certificate.registration_id == registration_id).order_by(Certificate.id))


@translated
def find_current_by_fingerprint(fingerprint: str, now: float) -> CertificateRecord | None:
    """The current certificate with this SHA-256 fingerprint: how a mutual-TLS client is found."""
    rows = _records(_select().where((Certificate.fingerprint == fingerprint) & _current(now)))
    return rows[0] if rows else None


@translated
def listed(username: str | None = None) -> list[CertificateRecord]:
    """Issued certificates, oldest first; those issued under ``username`` (any case) when given."""
    query = _select().order_by(Certificate.id)
    if username is not None:
        query = query.where(fn.LOWER(Certificate.username) == username.lower())
    return _records(query)


@translated
def revoked_unexpired(now: float) -> list[tuple[str, float, str]]:
    """(serial, revoked at, reason) of every revoked certificate that has not expired: the CRL's entries."""
    # Rows as the driver gives them (text, a float, text): peewee's conversion of each value
    # was half of reissuing a CRL of 10,000, which every revocation and renewal does.
    return _select_revoked_unexpired().execute(now=now).fetchall()


@compiled
def _select_revoked_unexpired():
    return (Certificate.select(Certificate.serial, Certificate.revoked_at, Certificate.revocation_reason)
            .where(Certificate.revoked_at.is_null(False) & (Certificate.not_after > slot("now")))
            .order_by(Certificate.id))
