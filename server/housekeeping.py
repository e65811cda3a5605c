"""Periodic chores of a running registry, in their own thread."""

from __future__ import annotations

import logging
import threading

from peewee import OperationalError

from storage import close_db

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60


class Housekeeping:
    """Expires stale pending requests now and then, for as long as the server runs."""

    def __init__(self, service, interval: float = INTERVAL_SECONDS):
        self._service = service
        self._interval = interval
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
        try:
            while not self._stopping.is_set():
                try:
                    expired = self._service.expire_stale_requests()
                except OperationalError as error:  # busy beyond the timeout: next round
                    log.warning("housekeeping skipped a round: %s", error)
                else:
                    if expired:
                        log.info("expired %d stale pending request(s)", expired)
                self._stopping.wait(self._interval)
        finally:
            close_db()
