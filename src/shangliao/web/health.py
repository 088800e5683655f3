"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators.

Both answer on the event loop: a plain ``def`` route (or dependency) waits for a worker thread,
and when the database hangs every worker thread may be stuck on it; a liveness probe that then
times out gets a healthy process restarted for nothing. The database probe runs on a thread of
its own, with its own connection and a short time limit, so it never queues behind requests.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import AccessRule
from shangliao.storage.database import Database
from shangliao.web.errors import db_error_brief
from shangliao.web.responses import JSONResponse

log = logging.getLogger(__name__)

DB_PROBE_TIMEOUT = 2.0  # seconds
# Two threads: a probe stuck on a frozen server holds one; the next probe still gets an answer
# (a timeout) from the other instead of queueing behind it.
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shangliao-readyz")


async def anyone() -> None:
    """Public, like ``access.public()``, but ``async``: no worker thread needed to say yes."""


anyone.access = AccessRule("public")  # type: ignore[attr-defined]

router = APIRouter(tags=["meta"], dependencies=[Depends(anyone)])


@router.get("/healthz")
async def healthz():
    """Liveness: the process answers; touches neither the database nor a worker thread."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request):
    """Readiness: 503 while the database does not answer; 200 otherwise, with ``"degraded"`` when
    Redis is away (writes go on; live updates across processes and shared rate limits wait) or
    when this process's job worker stopped passing (scheduled work and rules wait)."""
    runtime = request.app.state.runtime
    database = await _probe(runtime.db)
    fanout = runtime.bus.status()
    limits = runtime.limits.status()
    worker = getattr(request.app.state, "worker", None)
    jobs = worker.status() if worker is not None else {"running": False, "degraded": False}
    if database != "ok":
        status = "unavailable"
    elif fanout.get("degraded") or limits.get("degraded") or jobs["degraded"]:
        status = "degraded"
    else:
        status = "ready"
    body = {"status": status, "database": database, "fanout": fanout, "rate_limits": limits, "worker": jobs}
    return JSONResponse(body, status_code=503 if database != "ok" else 200)


async def _probe(db: Database) -> str:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(_probes, db.ping), DB_PROBE_TIMEOUT)
    except TimeoutError:
        log.warning("readiness: the database did not answer within %s s", DB_PROBE_TIMEOUT)
        return "timeout"
    except Exception as exc:
        log.warning("readiness: the database refused: %s", db_error_brief(exc))
        return "unavailable"
    return "ok"
