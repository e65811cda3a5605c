"""The schema's versions, and the steps that upgrade a data folder from one to the next.

A new database gets the current schema straight from the models and is stamped
with ``SCHEMA_VERSION``; an older one runs each step from its version on, in
order. Both happen inside the write transaction that ``init_db`` holds, so
several processes starting on one folder at once upgrade it exactly once. A
database stamped with a newer version than this release knows is refused:
running old code on a newer schema could lose what the newer release keeps.

PostgreSQL databases start at the current version (release 1 had only SQLite).
Release 1 had no version stamp; a database with a ``registration`` table and
no ``schema_version`` table is version 1. Steps use peewee's ``playhouse.migrate``
so they stay portable, and ``tests/test_upgrade.py`` checks that an upgraded
database has exactly the columns a new one has.
"""

from __future__ import annotations

from playhouse.migrate import SchemaMigrator, migrate

from storage.database import create_collations, db
from storage.errors import StorageError
from storage.models import (
    MODELS,
    Certificate,
    ChoreLease,
    Notification,
    Preauthorization,
    RateWindow,
    Registration,
    RegistryState,
    SchemaVersion,
)

SCHEMA_VERSION = 6


class SchemaTooNew(StorageError):
    """The database was written by a newer release."""


def bring_up_to_date() -> int:
    """Create or upgrade the schema; the version it had before (0 for a new database).
    Call inside a write transaction."""
    tables = set(db.get_tables())
    if "registration" not in tables:
        create_collations()
        db.create_tables(MODELS, safe=True)
        _stamp(SCHEMA_VERSION)
        RegistryState.insert(id=RegistryState.SINGLETON_ID).on_conflict_ignore().execute()
        return 0
    found = SchemaVersion.get_by_id(SchemaVersion.SINGLETON_ID).version if "schema_version" in tables else 1
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(f"the database was written by a newer release (schema {found}; this release knows "
                           f"up to {SCHEMA_VERSION}); run that release, or restore a backup made with this one")
    for version in range(found + 1, SCHEMA_VERSION + 1):
        _STEPS[version]()
        _stamp(version)
    return found


def _stamp(version: int) -> None:
    db.create_tables([SchemaVersion], safe=True)
    SchemaVersion.insert(id=SchemaVersion.SINGLETON_ID, version=version).on_conflict(
        conflict_target=[SchemaVersion.id], update={SchemaVersion.version: version}).execute()


def _to_2_certificates_kept() -> None:
    """Release 1 kept one certificate per registration, in its row, and lost it on
    delete; ids could be reused. Certificates get their own table (each granted
    one copied there), the registry remembers the highest id it handed out, and
    the CRL's state gets a home."""
    migrator = SchemaMigrator.from_database(db.obj)
    db.create_tables([Certificate])
    migrate(
        migrator.add_column("registry_state", "last_registration_id", RegistryState.last_registration_id),
        migrator.add_column("registry_state", "crl_number", RegistryState.crl_number),
        migrator.add_column("registry_state", "crl_der", RegistryState.crl_der),
        migrator.add_column("registry_state", "crl_next_update", RegistryState.crl_next_update),
    )
    db.execute_sql(
        "INSERT INTO certificate (registration_id, username, serial, fingerprint, pem, issued_at, not_after) "
        "SELECT id, username, certificate_serial, certificate_fingerprint, certificate_pem, decided_at, "
        "certificate_not_after FROM registration WHERE certificate_pem IS NOT NULL")
    db.execute_sql("UPDATE registry_state SET last_registration_id = (SELECT COALESCE(MAX(id), 0) FROM registration)")
    migrate(
        migrator.drop_index("registration", "registration_certificate_serial"),
        migrator.drop_index("registration", "registration_certificate_fingerprint"),
        migrator.drop_column("registration", "certificate_pem"),
        migrator.drop_column("registration", "certificate_serial"),
        migrator.drop_column("registration", "certificate_fingerprint"),
        migrator.drop_column("registration", "certificate_not_after"),
    )


def _to_3_enrolled_via() -> None:
    """EST (RFC 7030) arrived beside the JSON API: each registration remembers which
    one it came through. Every earlier registration came through the JSON API."""
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(migrator.add_column("registration", "enrolled_via", Registration.enrolled_via))


def _to_4_fleets() -> None:
    """Fleets: each request gets a pairing code (earlier ones have none), devices can be
    pre-authorised, and events wait in an outbox until the notifier sends them."""
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(migrator.add_column("registration", "pairing_code", Registration.pairing_code))
    db.create_tables([Preauthorization, Notification])


def _to_5_instances() -> None:
    """Several instances may share one database: the CA they must all sign with is
    recorded there (by the first process to open the registry after the upgrade), rate
    limits count there, and chores that must run once are leased there."""
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(migrator.add_column("registry_state", "ca_certificate", RegistryState.ca_certificate))
    db.create_tables([RateWindow, ChoreLease])


def _to_6_decisions() -> None:
    """Polls of pending requests are answered from memory; a counter of decisions tells
    each process when what it remembers may have changed elsewhere."""
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(migrator.add_column("registry_state", "decisions", RegistryState.decisions))


_STEPS = {2: _to_2_certificates_kept, 3: _to_3_enrolled_via, 4: _to_4_fleets, 5: _to_5_instances,
          6: _to_6_decisions}
