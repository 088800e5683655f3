"""The worker: a thread that runs what is due, the periodic tasks (jobs/periodic.py, listed in
jobs/tasks.py), the consumers of the event log and the queued jobs (jobs/queue.py), woken at once
by a committed event and otherwise every ``poll_seconds``; and a second thread that sends webhook
deliveries (webhooks/deliver.py), so that a slow receiver never holds up the rules.

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

from shangliao.jobs import consumers, queue
from shangliao.jobs import tasks as _tasks  # noqa: F401 (registers the periodic tasks)
from shangliao.jobs.periodic import Schedule
from shangliao.runtime import Runtime
from shangliao.webhooks import deliver

log = logging.getLogger(__name__)

STALLED_SECONDS = 120.0  # a pass this old means the worker is stuck (or one sweep is very long)


class Worker:
    def __init__(self, runtime: Runtime, *, poll_seconds: float = 1.0) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.schedule = Schedule(runtime)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._send_wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self.last_tick: float | None = None  # monotonic time of the last pass (readiness)

    def on_event(self, _event: Any) -> None:
        """A bus subscriber: something committed, work may be due."""
        self._wake.set()

    def run_once(self) -> int:
        """One pass: the periodic tasks whose period turned, the event-log consumers behind their
        shop's head, then every due job, a batch at a time. Returns how many jobs ran."""
        self.schedule.run_due()
        if consumers.run_all(self.runtime):
            self._send_wake.set()  # the webhooks consumer may have queued deliveries
        ran = total = queue.run_due(self.db, runtime=self.runtime)
        while ran and not self._stop.is_set():
            ran = queue.run_due(self.db, runtime=self.runtime)
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

    def send_forever(self) -> None:
        """Webhook deliveries, a batch after another while there are full batches, then a wait."""
        while not self._stop.is_set():
            try:
                while deliver.send_due(self.runtime) and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("sending webhooks failed; trying again in %.1f s", self.poll_seconds)
            self._send_wake.wait(self.poll_seconds)
            self._send_wake.clear()

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: whether this process runs jobs and how long ago its last pass ended;
        ``degraded`` when passes stopped (the thread died, or one pass has run for minutes)."""
        if self._thread is None:
            return {"running": False, "degraded": False}
        age = None if self.last_tick is None else round(time.monotonic() - self.last_tick, 1)
        stalled = age is not None and age > max(10 * self.poll_seconds, STALLED_SECONDS)
        return {
            "running": True,
            "last_pass_seconds_ago": age,
            "degraded": stalled
            or not self._thread.is_alive()
            or not (self._sender and self._sender.is_alive()),
        }

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="shangliao-jobs", daemon=True)
        self._sender = threading.Thread(target=self.send_forever, name="shangliao-webhooks", daemon=True)
        self._thread.start()
        self._sender.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._send_wake.set()
        for thread in (self._thread, self._sender):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._sender = None
