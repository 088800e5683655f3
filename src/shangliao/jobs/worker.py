"""The worker: a thread that runs what is due, the periodic tasks (jobs/periodic.py, listed in
jobs/tasks.py), the consumers of the event log and the queued jobs (jobs/queue.py), woken at once
by a committed event and otherwise every ``poll_seconds``; a second thread sends webhook deliveries
(webhooks/deliver.py) and a third writes exports (exports/service.py), so that neither a slow
receiver nor a million-row spreadsheet holds up the rules.

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

from shangliao.exports import service as exports
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
        self._threads: list[threading.Thread] = []
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
        self._repeat(self.run_once, self._wake, "the job worker's pass", until_idle=False)

    def _repeat(self, step, wake: threading.Event, what: str, *, until_idle: bool = True) -> None:
        """``step()`` again while it finds work (``until_idle``), then a wait for ``wake`` or the
        poll; a failure is logged and tried again after the wait."""
        while not self._stop.is_set():
            try:
                while step() and until_idle and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("%s failed; trying again in %.1f s", what, self.poll_seconds)
            wake.wait(self.poll_seconds)
            wake.clear()

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: whether this process runs jobs and how long ago its last pass ended;
        ``degraded`` when passes stopped (a thread died, or one pass has run for minutes)."""
        if not self._threads:
            return {"running": False, "degraded": False}
        age = None if self.last_tick is None else round(time.monotonic() - self.last_tick, 1)
        stalled = age is not None and age > max(10 * self.poll_seconds, STALLED_SECONDS)
        return {
            "running": True,
            "last_pass_seconds_ago": age,
            "degraded": stalled or not all(t.is_alive() for t in self._threads),
        }

    def start(self) -> None:
        rt = self.runtime
        loops = {
            "shangliao-jobs": self.run_forever,
            "shangliao-webhooks": lambda: self._repeat(
                lambda: deliver.send_due(rt), self._send_wake, "sending webhooks"
            ),
            "shangliao-exports": lambda: self._repeat(
                lambda: exports.run_next(rt), threading.Event(), "an export"
            ),
        }
        self._threads = [threading.Thread(target=run, name=name, daemon=True) for name, run in loops.items()]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._send_wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
