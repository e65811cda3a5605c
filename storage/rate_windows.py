"""Rate-limit windows in the database, for the limits that instances share (server.limits)."""

from __future__ import annotations

from storage.errors import translated
from storage.models import RateWindow


@translated
def get(key: str) -> tuple[float, int] | None:
    """(start, events) of ``key``'s window; call inside the write transaction that may ``put`` it."""
    return RateWindow.select(RateWindow.started_at, RateWindow.events).where(RateWindow.key == key).tuples().first()


@translated
def put(key: str, start: float, events: int) -> None:
    RateWindow.insert(key=key, started_at=start, events=events).on_conflict(
        conflict_target=[RateWindow.key],
        update={RateWindow.started_at: start, RateWindow.events: events}).execute()


@translated
def prune(started_before: float) -> int:
    """Forget windows that started before ``started_before`` (long over); how many."""
    return RateWindow.delete().where(RateWindow.started_at < started_before).execute()
