"""Orders exports: asked for in a request, written by the worker with no transaction open,
downloaded once by the member who asked, then gone.

The worker's export thread claims one export at a time (``FOR UPDATE SKIP LOCKED``) as its next
attempt, reads the orders a page at a time in short reads (exports/rows.py), writes
``<data dir>/exports/<shop>/<id>.<attempt>.part`` and records its progress every ``PROGRESS_ROWS``
orders or ``RENEW_SECONDS`` in a short unit that also moves its lease on; every write is guarded
by the attempt, so a worker that lost its lease changes nothing. After ``MAX_ATTEMPTS`` the export
fails. A file is removed when it is downloaded, when it fails, and (whatever is in the folder) a
day after it was written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.auth.scope import Scope
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, NotFound, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.customers.masking import FULL, MASKED, may_reveal
from shangliao.exports import rows
from shangliao.exports.models import QUERY_CONTEXT, ExportJob
from shangliao.exports.writers import FORMATS
from shangliao.orders.listing import OrderQuery
from shangliao.runtime import Runtime

log = logging.getLogger(__name__)

EXPORTS_PER_HOUR = "20/hour"
LEASE = timedelta(minutes=5)
RENEW_SECONDS = 20.0
PROGRESS_ROWS = 2000
MAX_ATTEMPTS = 3
KEEP_FOR = timedelta(hours=24)
QUEUED, RUNNING, DONE, FAILED, DOWNLOADED, EXPIRED = (
    "queued",
    "running",
    "done",
    "failed",
    "downloaded",
    "expired",
)


def folder_of(rt: Runtime, shop_id: int) -> Path:
    return rt.settings.data_dir / "exports" / str(shop_id)


def file_of(rt: Runtime, job: ExportJob) -> Path:
    return folder_of(rt, job.shop_id) / f"{job.id}.{job.format}"


def part_of(rt: Runtime, job: ExportJob) -> Path:
    return folder_of(rt, job.shop_id) / f"{job.id}.{job.attempt}.part"


def exported_query(query: OrderQuery) -> OrderQuery:
    """The list's query as an export walks it: every page from the start, newest first by creation
    (an order edited while the file is written would move in an ``updated_at`` order: skipped or
    written twice; its creation time never moves)."""
    return query.model_copy(update={"cursor": None, "sort": "-created_at"})


def do_request(
    session: Session, keyring: Keyring, actor: Actor, query: OrderQuery, fmt: str, locale: str
) -> ExportJob:
    """Queue an export of the orders ``query`` finds for ``actor`` (their scope, their view)."""
    plain = exported_query(query).model_dump(mode="json", exclude_none=True, exclude={"limit"})
    job = ExportJob(
        shop_id=actor.shop_id, requested_by=actor.staff_id, kind="orders", format=fmt,
        query_enc=keyring.encrypt_json(plain, QUERY_CONTEXT),
        scope={"staff_id": actor.staff_id, "data_scope": actor.data_scope, "sees_unassigned": actor.sees_unassigned},
        full=may_reveal(actor), locale=locale, timezone=actor.timezone, status=QUEUED,
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def access_own(session: Session, actor: Actor, job_id: int) -> ExportJob:
    """One of ``actor``'s own exports (anyone else's, even in the shop, is not found)."""
    job = session.scalar(
        select(ExportJob).where(
            ExportJob.id == job_id,
            ExportJob.shop_id == actor.shop_id,
            ExportJob.requested_by == actor.staff_id,
        )
    )
    if job is None:
        raise NotFound("export.not_found", N_("No such export."))
    return job


def recent_of(session: Session, actor: Actor, limit: int = 10) -> list[ExportJob]:
    return list(
        session.scalars(
            select(ExportJob)
            .where(ExportJob.shop_id == actor.shop_id, ExportJob.requested_by == actor.staff_id)
            .order_by(ExportJob.id.desc())
            .limit(limit)
        )
    )


def do_take(session: Session, rt: Runtime, job: ExportJob) -> Path:
    """The file of a finished export, marked downloaded (a second time is 410)."""
    if job.status in (QUEUED, RUNNING):
        raise Conflict("export.not_ready", N_("The export is not ready yet."))
    if job.status != DONE:
        raise Gone()
    path = file_of(rt, job)
    if not path.exists():
        raise Gone()
    job.status, job.downloaded_at = DOWNLOADED, clock.now()
    return path


class Gone(ShangliaoError):
    status = 410

    def __init__(self) -> None:
        super().__init__(
            "export.gone", N_("This export was downloaded already or has expired: export again.")
        )


# --- the worker's side ----------------------------------------------------------------------------


def claim(rt: Runtime) -> ExportJob | None:
    """The oldest queued export (or one whose worker died), leased to this worker."""
    with rt.db.write() as session:
        job = session.scalar(
            select(ExportJob)
            .where(
                (ExportJob.status == QUEUED)
                | ((ExportJob.status == RUNNING) & (ExportJob.lease_until < clock.now()))
            )
            .order_by(ExportJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        if job.attempt >= MAX_ATTEMPTS:  # its workers died each time: it is not going to work
            job.status, job.error, job.finished_at, job.query_enc = FAILED, "gave up", clock.now(), None
            return None
        job.status, job.lease_until, job.rows_done = RUNNING, clock.now() + LEASE, 0
        job.attempt += 1
        session.flush()
        session.expunge(job)
        return job


def reader_for(rt: Runtime, job: ExportJob) -> rows.Reader:
    scope = Scope(job.shop_id, **job.scope)
    query = OrderQuery.model_validate(rt.keyring.decrypt_json(job.query_enc, QUERY_CONTEXT))
    return rows.Reader(rt.keyring, scope, job.timezone, query, FULL if job.full else MASKED, job.locale)


def write_file(
    rt: Runtime, reader: rows.Reader, fmt: str, path: Path, progress: Callable[[int], None]
) -> int:
    """Write every order ``reader`` finds to ``path``; returns how many. ``progress(done)`` is told
    every ``PROGRESS_ROWS`` orders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = FORMATS[fmt](path, locale=reader.locale, timezone=reader.timezone)
    done = reported = 0
    last = time.monotonic()
    try:
        for page in rows.pages(rt.db, reader):
            for order, lines in page:
                out.add(order, lines)
            done += len(page)
            if done - reported >= PROGRESS_ROWS or time.monotonic() - last >= RENEW_SECONDS:
                progress(done)
                reported, last = done, time.monotonic()
    finally:
        out.close()
    return done


def run(rt: Runtime, job: ExportJob) -> None:
    """Write ``job``'s file and record the outcome; a failure is recorded, never raised."""
    part = part_of(rt, job)
    started = time.monotonic()
    try:
        reader = reader_for(rt, job)
        with rt.db.snapshot() as conn:
            total = rows.count(conn, reader)
        _mark(rt, job, rows_total=total)
        done = write_file(rt, reader, job.format, part, lambda n: _mark(rt, job, rows_done=n))
    except Exception as exc:
        log.exception("export %s failed", job.id)
        part.unlink(missing_ok=True)
        _finish(rt, job, status=FAILED, error=f"{type(exc).__name__}: {exc}"[:300])
        return
    if _finish(rt, job, status=DONE, rows_done=done, size=part.stat().st_size):
        os.replace(part, file_of(rt, job))
        log.info("export %s: %d orders in %.1f s", job.id, done, time.monotonic() - started)
    else:
        part.unlink(missing_ok=True)  # another attempt has it now


def _mine(job: ExportJob):
    return update(ExportJob).where(
        ExportJob.id == job.id, ExportJob.status == RUNNING, ExportJob.attempt == job.attempt
    )


def _mark(rt: Runtime, job: ExportJob, **values) -> None:
    """Progress, and the lease moved on, while the export is still this attempt's."""
    with rt.db.write() as session:
        session.execute(_mine(job).values(lease_until=clock.now() + LEASE, **values))


def _finish(rt: Runtime, job: ExportJob, **values) -> bool:
    """The outcome, if the export is still this attempt's; returns whether it was."""
    with rt.db.write() as session:
        ended = session.execute(
            _mine(job).values(finished_at=clock.now(), lease_until=None, query_enc=None, **values)
        ).rowcount
        if ended and values["status"] == DONE:
            record_audit(
                session, job.shop_id, "export.orders", staff_id=job.requested_by, actor_type="staff",
                target_type="export", target_id=job.id,
                data={"format": job.format, "orders": values["rows_done"], "full": job.full},
            )  # fmt: skip
        return bool(ended)


def run_next(rt: Runtime) -> bool:
    """Run the next due export, if any; returns whether one ran."""
    job = claim(rt)
    if job is None:
        return False
    run(rt, job)
    return True


def expire(rt: Runtime) -> int:
    """Exports done more than a day ago and never downloaded: expired. Then every file in the
    exports folders older than a day goes, whatever left it there (a send that broke off, a
    worker that died mid-file, xlsxwriter's temporary files): they may hold personal data."""
    with rt.db.write() as session:
        stale = session.scalars(
            select(ExportJob).where(ExportJob.status == DONE, ExportJob.finished_at < clock.now() - KEEP_FOR)
        ).all()
        for job in stale:
            job.status = EXPIRED
    root = rt.settings.data_dir / "exports"
    cutoff = (clock.now() - KEEP_FOR).timestamp()
    old = [p for p in root.glob("*/*") if p.is_file() and p.stat().st_mtime < cutoff] if root.exists() else []
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
