"""What storage hands upwards: plain values, never peewee model instances."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegistrationRecord:
    """One stored registration, as its columns hold it (see storage.models.Registration)."""

    id: int
    username: str
    password_hash: str
    status: str
    request_digest: str
    source_address: str
    context: str | dict | None
    roles: list
    permissions: list
    csr_pem: str | None
    key_fingerprint: str | None
    key_description: str | None
    requested_at: float
    last_poll_at: float
    last_poll_address: str
    failed_attempts: int
    decided_at: float | None
    decided_by: str | None
    reject_reason: str | None
    granted_roles: list | None
    granted_permissions: list | None
    revision: int
    enrolled_via: str
    pairing_code: str | None


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate (see storage.models.Certificate)."""

    id: int
    registration_id: int
    username: str
    serial: str
    fingerprint: str
    pem: str
    issued_at: float
    not_after: float
    revoked_at: float | None
    revocation_reason: str | None


@dataclass(frozen=True)
class PreauthorizationRecord:
    """One pre-authorised device (see storage.models.Preauthorization)."""

    id: int
    username: str
    key_fingerprint: str
    roles: list
    permissions: list
    created_at: float
    created_by: str
    expires_at: float | None
    used_at: float | None


@dataclass(frozen=True)
class NotificationRecord:
    """One event in the outbox (see storage.models.Notification)."""

    id: int
    at: float
    event: str
    username: str | None
    details: dict
    attempts: int
