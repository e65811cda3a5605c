"""The audit trail: every request, open, lock, grant, reject, delete and expiry."""

from __future__ import annotations

from storage.models import AuditEntry


def record(at: float, actor: str, action: str, username: str | None = None, detail: str = "") -> None:
    AuditEntry.create(at=at, actor=actor, action=action, username=username, detail=detail)


def entries(limit: int | None = None, after_id: int = 0) -> list[AuditEntry]:
    """Entries newest first; ``after_id`` limits them to those added since."""
    query = AuditEntry.select().where(AuditEntry.id > after_id).order_by(AuditEntry.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(query)
