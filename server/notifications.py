"""Notifications: events about requests and certificates, POSTed to ``--notify-url``.

Every state change writes its event into the outbox (``storage.outbox``) in its
own transaction, so that a change made by any process (the admin CLI too) is
reported, nothing is lost across a restart, and an agent's answer never waits
for the receiver. The notifier chore (``Notifier.deliver_due``) sends them,
oldest first, retrying each with exponential back-off and giving up after
``MAX_ATTEMPTS``; ``prune`` keeps the outbox small.

An event is ``{"id", "event", "username", "at", …}``: the id lets a receiver drop
a repeat (an event is sent at least once), ``at`` is ISO 8601 UTC. Events carry
what an administrator would act on, never a password or its hash.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from urllib.parse import urlsplit

from storage import outbox
from storage.records import NotificationRecord

PENDING_EVENT = "pending"  # a new request waits for an administrator
GRANTED_EVENT = "granted"
REJECTED_EVENT = "rejected"
REVOKED_EVENT = "revoked"  # one per certificate: admin revoke, delete, superseded by a renewal
EXPIRED_EVENT = "expired"  # a pending request that nobody decided was removed

NOTIFY_SECONDS = 1  # how often the chore looks for due events
SEND_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 10
BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS = 2, 600  # 2, 4, 8, … s: about an hour and a half in all
BATCH = 100
KEEP_DONE_SECONDS = 24 * 3600  # sent or given up: kept a day, for whoever looks into a complaint
KEEP_ANY_SECONDS = 7 * 24 * 3600  # queued where no notifier runs: a week

log = logging.getLogger(__name__)


def queue(at: float, event: str, username: str | None, **details) -> None:
    """Queue an event; call inside the write transaction of the change it reports."""
    outbox.add(at, event, username, details)


def queue_each(events: Iterable[tuple[float, str, str | None, dict]]) -> None:
    """Queue events given as (at, event, username, details), all at once; call inside the
    write transaction of the changes they report."""
    outbox.add_each(events)


def prune(now: float) -> int:
    """Remove events done with, and old ones that no notifier will send; how many."""
    return outbox.prune(now - KEEP_DONE_SECONDS, now - KEEP_ANY_SECONDS)


class Notifier:
    """Sends due events to one URL."""

    def __init__(self, url: str, clock: Callable[[], float]):
        self._url = url
        self._clock = clock
        # Logs name the host only: a webhook URL often carries a token.
        self._host = urlsplit(url).hostname

    def deliver_due(self) -> int:
        """Send every due event once; how many were delivered."""
        delivered = 0
        for record in outbox.due(self._clock(), BATCH):
            try:
                self._post(record)
            except (OSError, ValueError) as error:  # urllib's errors are OSErrors; a bad URL is a ValueError
                self._failed(record, error)
            else:
                outbox.mark_sent(record.id, self._clock())
                delivered += 1
        return delivered

    def _post(self, record: NotificationRecord) -> None:
        body = json.dumps(event_body(record)).encode("utf-8")
        request = urllib.request.Request(self._url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        # A 2xx answer is a delivery; urlopen raises HTTPError (an OSError) for the others.
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as answer:
            answer.read()

    def _failed(self, record: NotificationRecord, error: Exception) -> None:
        attempts = record.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            log.error("gave up sending the %s event of %s to %s after %d attempts: %s",
                      record.event, record.username, self._host, attempts, error)
            outbox.retry_at(record.id, None)
            return
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1))
        log.warning("sending the %s event of %s to %s failed (%s); trying again in %d s",
                    record.event, record.username, self._host, error, delay)
        outbox.retry_at(record.id, self._clock() + delay)


def event_body(record: NotificationRecord) -> dict:
    at = datetime.fromtimestamp(record.at, tz=timezone.utc).isoformat(timespec="seconds")
    return {"id": record.id, "event": record.event, "username": record.username, "at": at, **record.details}
