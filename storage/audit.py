"""The audit trail: every request, open, lock, grant, reject, delete and expiry."""

from __future__ import annotations

from collections.abc import Iterable

from storage.compiled import compiled, slot
from storage.errors import translated
from storage.models import AuditEntry


_COLUMNS = ("at", "actor", "action", "username", "detail")


@translated
def record(at: float, actor: str, action: str, username: str | None = None, detail: str = "") -> None:
    record_each([(at, actor, action, username, detail)])


@translated
def record_each(entries: Iterable[tuple[float, str, str, str | None, str]]) -> None:
    """Entries given as ``record``'s arguments, in one call to the database (a bulk grant's)."""
    _insert().execute_many(dict(zip(_COLUMNS, entry)) for entry in entries)


@compiled
def _insert():
    """Every change runs this: compiled once, without the RETURNING of the new id (see
    storage.certificates)."""
    return AuditEntry.insert({getattr(AuditEntry, column): slot(column) for column in _COLUMNS}).returning()


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
