"""The notification outbox: events written in the transaction of the change they report,
then sent, retried and pruned by the notifier chore (``server.notifications``)."""

from __future__ import annotations

from collections.abc import Iterable

from storage.compiled import compiled, slot
from storage.database import write_transaction
from storage.errors import translated
from storage.models import Notification
from storage.records import NotificationRecord


@translated
def add(at: float, event: str, username: str | None, details: dict) -> None:
    """Queue an event, due at once; call inside the write transaction of the change."""
    add_each([(at, event, username, details)])


@translated
def add_each(events: Iterable[tuple[float, str, str | None, dict]]) -> None:
    """Events given as ``add``'s arguments, in one call to the database (a bulk grant's)."""
    _insert().execute_many({"at": at, "event": event, "username": username, "details": details}
                           for at, event, username, details in events)


@compiled
def _insert():
    """Every change runs this: compiled once, without the RETURNING of the new id (see
    storage.certificates)."""
    return Notification.insert(at=slot("at"), event=slot("event"), username=slot("username"),
                               details=slot("details", Notification.details),
                               next_attempt_at=slot("at")).returning()


@translated
def due(now: float, limit: int) -> list[NotificationRecord]:
    """Up to ``limit`` events due for an attempt, oldest first."""
    query = (Notification.select(Notification.id, Notification.at, Notification.event, Notification.username,
                                 Notification.details, Notification.attempts)
             .where(Notification.next_attempt_at <= now).order_by(Notification.id).limit(limit))
    return [NotificationRecord(*row) for row in query.tuples()]


@translated
def mark_sent(notification_id: int, now: float) -> None:
    with write_transaction():
        Notification.update(sent_at=now, next_attempt_at=None, attempts=Notification.attempts + 1).where(
            Notification.id == notification_id).execute()


@translated
def retry_at(notification_id: int, moment: float | None) -> None:
    """Count a failed attempt; try again at ``moment``, or never (None: given up)."""
    with write_transaction():
        Notification.update(next_attempt_at=moment, attempts=Notification.attempts + 1).where(
            Notification.id == notification_id).execute()


@translated
def prune(done_before: float, any_before: float) -> int:
    """Delete events sent or given up before ``done_before``, and any older than ``any_before``
    (a registry without a notifier still queues them); how many."""
    finished = Notification.next_attempt_at.is_null() & (Notification.at < done_before)
    with write_transaction():
        return Notification.delete().where(finished | (Notification.at < any_before)).execute()

