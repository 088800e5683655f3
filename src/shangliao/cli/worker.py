"""``shangliao worker``: a process that only runs background jobs (jobs/worker.py), for PostgreSQL
installations that keep that work off their web servers (with ``SHANGLIAO_WORKER=off`` there)."""

from __future__ import annotations

import signal

from shangliao.cli.common import USAGE_ERROR, fail, open_runtime, reports_errors, say, settings, t
from shangliao.core.i18n import N_


@reports_errors
def worker() -> None:
    """Run background jobs until stopped (Ctrl+C or SIGTERM). PostgreSQL only.

    With SQLite the jobs run inside `shangliao serve`: SQLite has one writer, held by the server.
    Any number of workers may run beside the servers: each job is taken by one of them.
    """
    if settings().is_sqlite:
        fail(
            t(
                N_(
                    "shangliao worker needs PostgreSQL: with SQLite, background jobs run inside "
                    "shangliao serve, which holds SQLite's one writer."
                )
            ),
            code=USAGE_ERROR,
        )
    from shangliao.jobs.worker import Worker
    from shangliao.shops import settings_cache

    with open_runtime() as rt:
        running = Worker(rt, poll_seconds=rt.settings.worker_poll_seconds)
        stop_waking = rt.bus.subscribe(running.on_event)
        forget_settings = rt.bus.subscribe(settings_cache.on_event)  # rules read the shop's workflow
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, lambda *_: running.stop(timeout=0))
        say(N_("Running background jobs. Press Ctrl+C to stop."))
        try:
            running.run_forever()
        finally:
            stop_waking()
            forget_settings()
