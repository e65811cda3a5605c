"""peewee models: registrations, issued certificates, the registry's state, the audit trail.

The schema changes only through ``storage.migrations``, which keeps it in step
with these models for a new data folder and an upgraded one alike.

Times are seconds since the epoch (UTC) as REAL, so that every process on the
machine compares them the same way.
"""

from __future__ import annotations

import json

from peewee import (
    AutoField,
    BlobField,
    CharField,
    FloatField,
    IntegerField,
    Model,
    TextField,
)

from storage.database import db


class JSONField(TextField):
    """A JSON value stored as compact text."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class RegistryState(BaseModel):
    """The one row that says whether the registry is open, and a change counter."""

    SINGLETON_ID = 1

    id = IntegerField(primary_key=True)
    # The registry is open while now < open_until; the server decides from
    # this stored deadline, so it locks itself even if the window is gone.
    open_until = FloatField(null=True)
    # Bumped by every change to a registration and copied into that row, so
    # that a reader can ask for "everything changed since revision N".
    revision = IntegerField(default=0)
    # The highest registration id ever handed out: ids are never reused, so
    # nothing a deleted client left behind is ever shown as a newcomer's.
    last_registration_id = IntegerField(default=0)
    # The current CRL: its number grows with every reissue (RFC 5280 5.2.3).
    crl_number = IntegerField(default=0)
    crl_der = BlobField(null=True)
    crl_next_update = FloatField(null=True)
    # The CA's certificate (DER), recorded by the first process to open the registry:
    # every instance on a shared database must sign with this one CA.
    ca_certificate = BlobField(null=True)
    # Bumped by every change that ends a pending request (a grant, a rejection, a
    # deletion): a process that answers polls from memory (server.pending_requests)
    # reads it to learn of another process's decisions.
    decisions = IntegerField(default=0)


class SchemaVersion(BaseModel):
    """Which migration the database has reached (storage.migrations)."""

    SINGLETON_ID = 1

    id = IntegerField(primary_key=True)
    version = IntegerField()


class Registration(BaseModel):
    """One agent's request, from pending to granted or rejected."""

    id = IntegerField(primary_key=True)  # from RegistryState.last_registration_id, never reused
    # ASCII usernames, unique without regard to case: the database enforces it,
    # because a check-then-insert races.
    username = CharField(max_length=64, unique=True, collation="NOCASE")
    password_hash = CharField()
    status = CharField(max_length=16)  # pending | granted | rejected
    # SHA-256 over the canonical request (CSR, roles, permissions, context):
    # a pending request re-sent with anything else is refused.
    request_digest = CharField(max_length=64)
    source_address = CharField(max_length=64)
    context = JSONField(null=True)
    roles = JSONField()
    permissions = JSONField()
    csr_pem = TextField(null=True)
    key_fingerprint = CharField(max_length=64, null=True, unique=True)
    key_description = CharField(max_length=32, null=True)  # "EC P-256", "RSA 2048"
    requested_at = FloatField()
    last_poll_at = FloatField()
    last_poll_address = CharField(max_length=64)
    failed_attempts = IntegerField(default=0)
    decided_at = FloatField(null=True)
    decided_by = CharField(null=True)
    reject_reason = TextField(null=True)
    granted_roles = JSONField(null=True)
    granted_permissions = JSONField(null=True)
    revision = IntegerField(index=True)
    enrolled_via = CharField(max_length=8, default="api")  # api | est: the adapter it came through
    # "XXXX-XXXX", read out by phone to match the device with its request; none before schema 4.
    pairing_code = CharField(max_length=9, null=True)

    class Meta:
        # Expiry looks for old pending requests.
        indexes = ((("status", "requested_at"), False),)


class Certificate(BaseModel):
    """Every certificate the registry ever issued, kept for the life of the registry."""

    id = AutoField()
    # The registration it was issued to; kept after the registration is deleted
    # (ids are never reused, so it never points at someone else).
    registration_id = IntegerField(index=True)
    username = CharField(max_length=64)
    serial = CharField(max_length=64, unique=True)  # lowercase hex
    # SHA-256 over the certificate's DER: how a mutual-TLS client is found.
    fingerprint = CharField(max_length=64, unique=True)
    pem = TextField()
    issued_at = FloatField()
    not_after = FloatField()
    revoked_at = FloatField(null=True)
    revocation_reason = CharField(max_length=32, null=True)

    class Meta:
        # The CRL lists revoked certificates that have not yet expired.
        indexes = ((("revoked_at", "not_after"), False),)


class Preauthorization(BaseModel):
    """A device an administrator expects: its username and key, and what it may be granted."""

    id = AutoField()
    username = CharField(max_length=64, unique=True, collation="NOCASE")  # one per name
    key_fingerprint = CharField(max_length=64)
    roles = JSONField()  # the most a matching request is granted
    permissions = JSONField()
    created_at = FloatField()
    created_by = CharField()
    expires_at = FloatField(null=True)  # never, when null
    used_at = FloatField(null=True)  # a pre-authorisation grants once


class Notification(BaseModel):
    """The outbox: an event written with the change it reports, sent later by a chore,
    so that a change made by any process is reported and a restart loses none."""

    id = AutoField()
    at = FloatField()
    event = CharField(max_length=16)
    username = CharField(max_length=64, null=True)
    details = JSONField()
    attempts = IntegerField(default=0)
    # When to try (again); null once sent or given up.
    next_attempt_at = FloatField(null=True, index=True)
    sent_at = FloatField(null=True)


class RateWindow(BaseModel):
    """A rate limit's count of events for one key (a throttle's name and, say, an address)
    since the window started: shared by the instances on one database (server.limits)."""

    key = CharField(max_length=200, primary_key=True)
    started_at = FloatField(index=True)
    events = IntegerField()


class ChoreLease(BaseModel):
    """Which instance does a chore that must run once for the registry, and until when
    (server.chores): another takes it over when the holder stops renewing."""

    name = CharField(max_length=32, primary_key=True)
    holder = CharField(max_length=128)
    until = FloatField()


class AuditEntry(BaseModel):
    """Who did what, when: requests, open, lock, grant, reject, delete, expiry."""

    id = AutoField()
    at = FloatField(index=True)
    actor = CharField()
    action = CharField(max_length=16)
    username = CharField(max_length=64, null=True)
    detail = TextField(default="")


MODELS = [SchemaVersion, RegistryState, Registration, Certificate, AuditEntry, Preauthorization, Notification,
          RateWindow, ChoreLease]
