"""Storage on its own: no Qt, no sockets, a real SQLite file."""

from __future__ import annotations

import pytest
from peewee import PostgresqlDatabase

from server.statuses import GRANTED, PENDING
from storage import PublicKeyTaken, UsernameTaken, audit, certificates, compiled, db, registrations, write_transaction
from storage.errors import ConstraintBroken
from storage.models import MODELS, AuditEntry
from tests.postgres import both_databases


def pending(username: str, key_fingerprint: str | None = None, at: float = 1.0):
    return registrations.add(
        status=PENDING, username=username, password_hash="scrypt$x", request_digest="d" * 64, source_address="10.0.0.1",
        context=None, roles=[], permissions=[], csr_pem=None, key_fingerprint=key_fingerprint,
        key_description=None, requested_at=at, last_poll_at=at, last_poll_address="10.0.0.1",
    )


def decided(registration_id: int, while_status: str = PENDING, **fields) -> bool:
    """``registrations.decide`` in a write transaction of its own, as the core calls it in one."""
    with write_transaction():
        return registrations.decide(registration_id, while_status, **fields)


@pytest.fixture
def database(service):
    """The registry's database, opened by the service fixture in a temp folder."""
    return db


def test_database_is_in_wal_mode_with_a_busy_timeout(database):
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


@both_databases
def test_usernames_are_unique_without_regard_to_case_in_the_database(database):
    pending("alice")
    with pytest.raises(UsernameTaken):
        pending("ALICE")
    assert registrations.find("aLiCe").username == "alice"


def test_a_public_key_belongs_to_one_registration(database):
    pending("alice", key_fingerprint="ab" * 32)
    with pytest.raises(PublicKeyTaken):
        pending("bob", key_fingerprint="ab" * 32)
    assert registrations.find("bob") is None


@both_databases
def test_a_last_poll_time_never_moves_backwards(database):
    """Instances flush their polls on their own: an older one may arrive after a newer."""
    row = pending("alice", at=100.0)
    registrations.record_polls({row.id: (300.0, "10.0.0.3")})
    registrations.record_polls({row.id: (200.0, "10.0.0.2")})
    found = registrations.find("alice")
    assert (found.last_poll_at, found.last_poll_address) == (300.0, "10.0.0.3")
    registrations.record_polls({row.id: (300.5, "10.0.0.4")})  # sub-second: PostgreSQL keeps doubles too
    assert registrations.find("alice").last_poll_at == 300.5


@both_databases
def test_only_one_decision_wins(database):
    row = pending("alice")
    assert decided(row.id, status=GRANTED, decided_at=2.0, decided_by="a")
    assert not decided(row.id, status="rejected", decided_at=3.0, decided_by="b")
    assert registrations.find("alice").decided_by == "a"


def test_a_state_change_and_its_audit_entry_commit_together_or_not_at_all(database):
    first = pending("alice")
    second = pending("bob")
    decided(first.id, status=GRANTED, decided_at=2.0, decided_by="a")
    certificates.add(registration_id=first.id, username="alice", serial="c0ffee", fingerprint="f" * 64,
                     pem="-", issued_at=2.0, not_after=9.0)
    entries_before = AuditEntry.select().count()
    with pytest.raises(ConstraintBroken):
        with write_transaction():
            registrations.decide(second.id, PENDING, status=GRANTED, decided_at=3.0, decided_by="a")
            audit.record(3.0, "a", "grant", "bob")
            # A serial already issued: the database refuses, and the grant and its audit entry go too.
            certificates.add(registration_id=second.id, username="bob", serial="c0ffee", fingerprint="e" * 64,
                             pem="-", issued_at=3.0, not_after=9.0)
    assert registrations.find("bob").status == PENDING
    assert AuditEntry.select().count() == entries_before


def test_changes_since_gives_only_what_changed_and_shows_deletions(service):
    pending("alice")
    pending("bob")
    start = service.changes_since(0)
    assert [row.username for row in start.changed] == ["alice", "bob"]
    assert start.total == 2

    nothing = service.changes_since(start.revision)
    assert (nothing.changed, nothing.total, nothing.revision) == ((), 2, start.revision)

    registrations.record_polls({registrations.find("bob").id: (5.0, "10.0.0.2")})
    polled = service.changes_since(start.revision)
    assert [(row.username, row.last_poll_at) for row in polled.changed] == [("bob", 5.0)]

    registrations.remove(registrations.find("alice").id)
    after_delete = service.changes_since(polled.revision)
    assert after_delete.changed == () and after_delete.total == 1
    assert service.registration_ids() == {registrations.find("bob").id}


def test_a_deleted_row_never_hides_a_later_change(service):
    """The counter lives apart from the rows, so deleting the newest row cannot
    hand its revision number to the next change."""
    pending("alice")
    bob = pending("bob")
    seen = service.changes_since(0).revision
    registrations.remove(bob.id)
    registrations.record_polls({registrations.find("alice").id: (9.0, "10.0.0.3")})
    assert [row.username for row in service.changes_since(seen).changed] == ["alice"]


def test_summaries_count_permissions_and_decode_roles(service):
    row = pending("alice")
    decided(row.id, status=GRANTED, decided_at=2.0, decided_by="a")
    from storage.models import Registration

    Registration.update(roles=["a", "b"], permissions=[{"x": 1}, {"y": 2}, {"z": 3}]).execute()
    summary = service.registrations()[0]
    assert (summary.username, summary.status, summary.roles, summary.permission_count) == \
        ("alice", "granted", ("a", "b"), 3)


def test_a_compiled_statement_is_peewees_sql_for_the_kind_of_database_in_use(database, monkeypatch):
    """As when a process initialises PostgreSQL after SQLite: the statement is compiled anew
    for it, in its dialect, and the one compiled for SQLite stays SQLite's."""
    for_sqlite = registrations._select_by("username").sql
    postgres = PostgresqlDatabase(None)
    with postgres.bind_ctx(MODELS):
        monkeypatch.setattr(compiled, "_database", lambda: postgres)
        for_postgres = registrations._select_by("username").sql
        monkeypatch.undo()
    assert for_sqlite.endswith('"username" = ?)') and for_postgres.endswith('"username" = %s)')
    assert registrations._select_by("username").sql == for_sqlite
    pending("alice")
    assert registrations.find("ALICE").username == "alice"
