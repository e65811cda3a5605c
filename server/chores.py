"""The running registry's background chores, each a supervised worker of its own.

A chore is a function run every so often: writing the batched poll times,
copying SQLite's write-ahead log into the database file, expiring stale pending
requests, reissuing the CRL before it goes stale, sending the outbox's
notifications and pruning old records. Each runs in its own
thread so that a slow one never delays another, survives any exception (logged
once per streak of failures, then retried on its next round), and is stopped by
the wiring only after the HTTP server has drained, so that a chore marked
``final`` (the poll flush) runs once more and writes what the last requests noted.

Instances that share a database each flush their own polls, but a chore marked
``once`` is the registry's, not the instance's: each round, an instance does it
only while it holds the chore's lease in the database (``ChoreLeases``), so that
events are sent once and expiry is audited once. When the holder stops, another
instance takes the chore over at its next round; when it dies, once its lease
has run out.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.notifications import NOTIFY_SECONDS, Notifier
from storage import StorageError, checkpoint_write_ahead_log, chore_leases, is_shared

log = logging.getLogger(__name__)

POLL_FLUSH_SECONDS = 1
# Often enough that a checkpoint copies about a second of writes, and writers leave it to
# this chore (storage.database.WRITER_CHECKPOINT_PAGES); with nothing written, it costs nothing.
CHECKPOINT_SECONDS = 1
EXPIRY_SECONDS = 60
CRL_CHECK_SECONDS = 60
# A lease outlasts a few rounds, so that a holder that is merely slow keeps its chore.
LEASE_ROUNDS = 3
LEASE_MIN_SECONDS = 30


@dataclass(frozen=True)
class Chore:
    name: str
    interval: float  # seconds between the end of one round and the start of the next
    work: Callable[[], object]
    final: bool = False  # run once more when stopped
    once: bool = False  # the registry's, not each instance's: done under a lease


def registry_chores(service, *, poll_flush_interval: float = POLL_FLUSH_SECONDS,
                    expiry_interval: float = EXPIRY_SECONDS, crl_interval: float = CRL_CHECK_SECONDS,
                    notify_url: str | None = None, notify_interval: float = NOTIFY_SECONDS) -> list[Chore]:
    """The chores a serving registry needs, over the core's facade; with ``notify_url``,
    the notifier that POSTs the outbox's events there."""

    def expire() -> int:
        expired = service.expire_stale_requests()
        if expired:
            log.info("expired %d stale pending request(s)", expired)
        return expired

    chores = [
        Chore("poll-flush", poll_flush_interval, service.flush_polls, final=True),
        Chore("expiry", expiry_interval, expire, once=True),
        Chore("crl", crl_interval, service.reissue_crl_if_due, once=True),
        Chore("prune", expiry_interval, service.prune_records, once=True),
    ]
    if not is_shared():  # each instance its own SQLite file; PostgreSQL checkpoints by itself
        chores.append(Chore("checkpoint", CHECKPOINT_SECONDS, checkpoint_write_ahead_log))
    if notify_url is not None:
        chores.append(Chore("notify", notify_interval, Notifier(notify_url, service.clock).deliver_due, once=True))
    return chores


class ChoreLeases:
    """This instance's hold on the chores that run once for the registry."""

    def __init__(self, clock: Callable[[], float], holder: str | None = None):
        self._clock = clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def take(self, chore: Chore) -> bool:
        """Whether this instance does ``chore`` this round (its lease renewed, or taken over)."""
        now = self._clock()
        seconds = max(LEASE_ROUNDS * chore.interval, LEASE_MIN_SECONDS)
        return chore_leases.take(chore.name, self.holder, now, now + seconds)

    def give_up(self) -> None:
        chore_leases.give_up(self.holder)


class ChoreRunner:
    """Starts each chore in a thread; ``stop()`` ends them all and waits."""

    def __init__(self, chores: Iterable[Chore], release: Callable[[], None] = lambda: None,
                 leases: ChoreLeases | None = None):
        """``release`` runs on each chore's thread as it ends (closing its database connection);
        ``leases`` decide who does the chores marked ``once`` (without: this runner, always)."""
        self._chores = tuple(chores)
        self._release = release
        self._leases = leases
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stopping.clear()
        self._threads = [threading.Thread(target=self._supervise, args=(chore,), name=f"chore-{chore.name}",
                                          daemon=True) for chore in self._chores]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._leases is not None:
            try:
                self._leases.give_up()
            except StorageError as error:  # the leases run out by themselves
                log.warning("could not hand the chores over at once: %s", error)
            finally:
                self._release()

    def _supervise(self, chore: Chore) -> None:
        failing = False
        if chore.once and self._leases is not None:
            chore = Chore(chore.name, chore.interval, self._leased(chore), chore.final, chore.once)
        try:
            while True:
                failing = _round(chore, failing)
                if self._stopping.wait(chore.interval):
                    if chore.final:
                        _round(chore, failing)
                    return
        finally:
            self._release()

    def _leased(self, chore: Chore) -> Callable[[], None]:
        def work() -> None:
            if self._leases.take(chore):
                chore.work()
        return work


def _round(chore: Chore, failing: bool) -> bool:
    """One run of ``chore``; whether it failed. A streak of failures is logged once."""
    try:
        chore.work()
    except Exception as error:  # a chore must outlive any failure: it is retried next round
        if not failing:
            log.error("chore %s failed; retrying every %g s: %s", chore.name, chore.interval, error,
                      exc_info=not _is_expected(error))
        return True
    if failing:
        log.info("chore %s works again", chore.name)
    return False


def _is_expected(error: Exception) -> bool:
    """A busy or full database explains itself in one line; anything else earns its traceback."""
    return isinstance(error, StorageError)
