"""Queue a job, and run the due ones: each claimed, done and marked in one transaction.

A handler's effect lives in the database (an order cancelled, a tag added), so the unit that
claims a job also runs it and marks it done: a crash anywhere before the commit leaves the job
queued and the effect unmade, a commit leaves both made. The claim is ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so workers in several processes take different jobs; on SQLite the single writer runs
one unit at a time and the clause renders nothing (docs/architecture.md, rule 2).

A handler that raises leaves nothing behind (its savepoint is rolled back); the job is tried again
after a backoff that doubles, and marked failed with the error after ``max_attempts``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.jobs.models import DONE, FAILED, QUEUED, Job
from shangliao.storage.database import Database

log = logging.getLogger(__name__)

Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {}
# Kinds whose handler also takes the runtime (its key ring, say): ``fn(session, job, runtime)``.
WITH_RUNTIME: set[str] = set()

# The wait before try n + 1 is BACKOFF_BASE · 2^(n-1), at most BACKOFF_CAP, ±20 % so that jobs
# failing together (an outside service down) do not come back together.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# A unit of work runs at most this many due jobs, for about this long (SQLite's writer is shared).
UNIT_JOBS = 20
UNIT_SECONDS = 0.05


def handler(kind: str, *, with_runtime: bool = False) -> Callable[[Handler], Handler]:
    """Register ``fn(session, job)`` (``fn(session, job, runtime)`` ``with_runtime``) as what runs
    a job of ``kind``."""

    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise ValueError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = fn
        if with_runtime:
            WITH_RUNTIME.add(kind)
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    shop_id: int | None = None,
    due_at: datetime | None = None,
    key: str | None = None,
    max_attempts: int = 6,
) -> bool:
    """Queue a job in the caller's transaction (it exists only if that commits). With ``key``, a
    job already queued under it (whatever its state) makes this a no-op; returns whether one was
    added."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    values = {
        "shop_id": shop_id,
        "kind": kind,
        "payload": payload or {},
        "status": QUEUED,
        "due_at": due_at or clock.now(),
        "attempts": 0,
        "max_attempts": max_attempts,
        "idempotency_key": key,
        "created_at": clock.now(),
    }
    return insert_once(session, values)


def insert_once(session: Session, values: dict[str, Any]) -> bool:
    """Insert a jobs row unless its ``idempotency_key`` is taken; returns whether it went in."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Job).values(**values)
    if values.get("idempotency_key") is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    # RETURNING says whether a row went in (psycopg reports no rowcount for a skipped conflict).
    return session.execute(statement.returning(Job.id)).scalar() is not None


def backoff(attempts: int) -> timedelta:
    """How long a job that failed ``attempts`` times waits before its next try."""
    wait = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return wait * random.uniform(0.8, 1.2)


def run_due(db: Database, *, limit: int = 50, runtime: Any = None) -> int:
    """Run up to ``limit`` due jobs; returns how many were claimed.

    Jobs share a unit of work, up to ``UNIT_JOBS`` of them or about ``UNIT_SECONDS``: each runs in
    its own savepoint (one failing leaves the others' effects), and one commit makes them all done
    (one fsync instead of one per job; a crash re-runs the lot, each once). An idle pass only
    reads: the writer (SQLite's one connection, shared with the requests' group commit) is taken
    only once something is due."""
    if not _anything_due(db):
        return 0
    ran = 0
    while ran < limit:
        with db.write() as session:
            deadline = time.monotonic() + UNIT_SECONDS
            jobs = _claim(session, min(UNIT_JOBS, limit - ran))
            for job in jobs:
                _run(session, job, runtime)
                ran += 1
                if time.monotonic() > deadline:
                    break  # the rest stay claimed by nothing: queued, for the next unit
        if not jobs:  # a job may queue another, due at once: asked for again until none is due
            break
    return ran


def _anything_due(db: Database) -> bool:
    with db.snapshot() as conn:
        due = select(Job.id).where(Job.status == QUEUED, Job.due_at <= clock.now()).limit(1)
        return conn.execute(due).first() is not None


def _claim(session: Session, n: int) -> list[Job]:
    return list(
        session.scalars(
            select(Job)
            .where(Job.status == QUEUED, Job.due_at <= clock.now())
            .order_by(Job.due_at, Job.id)
            .limit(n)
            .with_for_update(skip_locked=True)
        )
    )


def _run(session: Session, job: Job, runtime: Any) -> None:
    run = HANDLERS.get(job.kind)
    job.attempts += 1
    try:
        if run is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        with session.begin_nested():
            if job.kind in WITH_RUNTIME:
                run(session, job, runtime)
            else:
                run(session, job)
    except Exception as exc:  # any failure is the job's: retried, then kept as failed
        log.warning("job %s (%s) failed on try %d: %r", job.id, job.kind, job.attempts, exc)
        job.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if job.attempts >= job.max_attempts:
            job.status, job.finished_at = FAILED, clock.now()
        else:
            job.due_at = clock.now() + backoff(job.attempts)
        return
    job.status, job.finished_at, job.last_error = DONE, clock.now(), None
