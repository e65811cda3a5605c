"""The audit trail: every request, open, lock, grant, reject, delete and expiry."""

from __future__ import annotations

from storage.compiled import compiled, slot
from storage.errors import translated
from storage.models import AuditEntry


@translated
def record(at: float, actor: str, action: str, username: str | None = None, detail: str = "") -> None:
    _insert().execute(at=at, actor=actor, action=action, username=username, detail=detail)


@compiled
def _insert():
    """Every change runs this, a bulk grant a thousand times: compiled once, without the
    RETURNING of the new id (see storage.certificates)."""
    return AuditEntry.insert({field: slot(field.name) for field in (
        AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.username, AuditEntry.detail)}).returning()


@translated
def entries(limit: int | None = None, after_id: int = 0) -> list[tuple]:
    """Entries newest first, as (id, at, actor, action, username, detail);
    ``after_id`` limits them to those added since."""
    query = (AuditEntry.select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                               AuditEntry.username, AuditEntry.detail)
             .where(AuditEntry.id > after_id).order_by(AuditEntry.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return list(query.tuples())
