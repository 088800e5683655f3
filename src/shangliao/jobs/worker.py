"""The worker: a thread that runs due jobs (jobs/queue.py), woken at once by a committed event and
otherwise every ``poll_seconds``.

It runs inside ``shangliao serve`` (``SHANGLIAO_WORKER=inline``, the default) and, on PostgreSQL,
as ``shangliao worker`` processes of their own; SKIP LOCKED keeps any number of them from taking
the same job. The bus handler only sets an event: it runs on the committing thread, which on
SQLite is the writer's (rule 18 of docs/architecture.md).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from shangliao.jobs import queue
from shangliao.storage.database import Database

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, db: Database, *, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_tick: float | None = None  # monotonic time of the last pass (readiness)

    def on_event(self, _event: Any) -> None:
        """A bus subscriber: something committed, work may be due."""
        self._wake.set()

    def run_once(self) -> int:
        """One pass: every due job, a batch at a time. Returns how many jobs ran."""
        ran = total = queue.run_due(self.db)
        while ran and not self._stop.is_set():
            ran = queue.run_due(self.db)
            total += ran
        self.last_tick = time.monotonic()
        return total

    def run_forever(self) -> None:
        """Pass after pass until :meth:`stop`; a failing pass (the database away) is logged and the
        next one tries again."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("the job worker's pass failed; trying again in %.1f s", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="shangliao-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
