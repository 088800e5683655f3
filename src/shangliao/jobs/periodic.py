"""Work on a timer: each task runs once per period (its bucket of the clock), whichever worker
gets there first.

A task's run is claimed by inserting a jobs row keyed ``<kind>:<bucket>`` (unique), so any number
of workers, in any number of processes, run it once per bucket. Only the current bucket is ever
claimed: a clock that jumps forward ten days runs a task once, not once per missed period, and a
clock set back finds its buckets taken (or, never seen, runs once more: every task is idempotent
by the state it reads). Tasks work in short units of their own (a sweep of a big shop must not
hold SQLite's one writer), so a run is not retried: a task that fails is recorded as failed and
the next bucket runs it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from shangliao.core import clock
from shangliao.jobs.models import DONE, FAILED, RUNNING, Job
from shangliao.jobs.queue import insert_once
from shangliao.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    run: Callable[[Runtime], object]

    def key(self) -> str:
        bucket = int(clock.now().timestamp() // self.every.total_seconds())
        return f"{self.kind}:{bucket}"


TASKS: dict[str, Periodic] = {}


def every(
    period: timedelta, kind: str
) -> Callable[[Callable[[Runtime], object]], Callable[[Runtime], object]]:
    """Register ``fn(runtime)`` to run once every ``period``."""

    def register(fn: Callable[[Runtime], object]) -> Callable[[Runtime], object]:
        TASKS[kind] = Periodic(kind, period, fn)
        return fn

    return register


class Schedule:
    """The periodic side of a worker: remembers which buckets it saw taken, so an idle pass reads
    nothing until a period turns."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._seen: dict[str, str] = {}

    def run_due(self) -> list[str]:
        """Claim and run each task whose current bucket nobody has taken; returns their kinds."""
        wanted = {kind: task.key() for kind, task in TASKS.items() if self._seen.get(kind) != task.key()}
        if not wanted:
            return []
        with self.runtime.db.snapshot() as conn:
            taken = set(
                conn.scalars(select(Job.idempotency_key).where(Job.idempotency_key.in_(wanted.values())))
            )
        ran = []
        for kind, key in wanted.items():
            self._seen[kind] = key
            if key not in taken and self._claim(kind, key):
                self._run(TASKS[kind], key)
                ran.append(kind)
        return ran

    def _claim(self, kind: str, key: str) -> bool:
        now = clock.now()
        with self.runtime.db.write() as session:
            return insert_once(
                session,
                {"shop_id": None, "kind": kind, "payload": {}, "status": RUNNING, "due_at": now, "attempts": 1,
                 "max_attempts": 1, "idempotency_key": key, "created_at": now},
            )  # fmt: skip

    def _run(self, task: Periodic, key: str) -> None:
        error = None
        try:
            task.run(self.runtime)
        except Exception as exc:  # recorded on its row; the next bucket runs the task again
            log.exception("periodic task %s failed", task.kind)
            error = f"{type(exc).__name__}: {exc}"[:300]
        with self.runtime.db.write() as session:
            session.execute(
                update(Job)
                .where(Job.idempotency_key == key)
                .values(status=FAILED if error else DONE, last_error=error, finished_at=clock.now())
            )
