"""peewee models: registrations, the registry's lock state, the audit trail.

Times are seconds since the epoch (UTC) as REAL, so that every process on the
machine compares them the same way.
"""

from __future__ import annotations

import json

from peewee import (
    AutoField,
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


class Registration(BaseModel):
    """One agent's request, from pending to granted or rejected."""

    id = AutoField()
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
    certificate_pem = TextField(null=True)
    certificate_serial = CharField(max_length=64, null=True, unique=True)
    # SHA-256 over the issued certificate's DER: how a mutual-TLS client is found.
    certificate_fingerprint = CharField(max_length=64, null=True, unique=True)
    certificate_not_after = FloatField(null=True)
    revision = IntegerField(index=True)

    class Meta:
        # Expiry looks for old pending requests.
        indexes = ((("status", "requested_at"), False),)


class AuditEntry(BaseModel):
    """Who did what, when: requests, open, lock, grant, reject, delete, expiry."""

    id = AutoField()
    at = FloatField(index=True)
    actor = CharField()
    action = CharField(max_length=16)
    username = CharField(max_length=64, null=True)
    detail = TextField(default="")


MODELS = [RegistryState, Registration, AuditEntry]
