"""Periodic chores of a running registry, in their own thread."""

from __future__ import annotations

import logging
import threading
import time

from peewee import OperationalError

from storage import close_db

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1
EXPIRY_SECONDS = 60


class Housekeeping:
    """For as long as the server runs: writes the noted polls about once a second
    (and once more on stop), and expires stale pending requests now and then."""

    def __init__(self, service, flush_interval: float = FLUSH_SECONDS, expiry_interval: float = EXPIRY_SECONDS):
        self._service = service
        self._flush_interval = flush_interval
        self._expiry_interval = expiry_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="registry-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        next_expiry = time.monotonic()
        try:
            while True:
                self._attempt(self._service.flush_polls)
                if time.monotonic() >= next_expiry:
                    self._attempt(self._expire)
                    next_expiry = time.monotonic() + self._expiry_interval
                if self._stopping.wait(self._flush_interval):
                    self._attempt(self._service.flush_polls)  # the last polls before the server stops
                    return
        finally:
            close_db()

    def _expire(self) -> None:
        expired = self._service.expire_stale_requests()
        if expired:
            log.info("expired %d stale pending request(s)", expired)

    @staticmethod
    def _attempt(chore) -> None:
        try:
            chore()
        except OperationalError as error:  # the database stayed busy past its timeout: next round
            log.warning("housekeeping skipped a round: %s", error)
