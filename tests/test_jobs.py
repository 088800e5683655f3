"""Durable jobs (jobs/queue.py): queued in the caller's transaction, each run once, in the same
transaction as its effect, retried with backoff and then kept as failed; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from shangliao.app import create_app
from shangliao.core import clock
from shangliao.jobs import periodic, queue
from shangliao.jobs.models import DONE, FAILED, QUEUED, Job
from shangliao.jobs.worker import Worker

RAN: list[int] = []  # the ids of the jobs run, in order


@queue.handler("test.follow_up")
def _follow_up(session, job):
    """An effect in the database: a job of its own, keyed by the one that made it."""
    RAN.append(job.id)
    queue.enqueue(session, "test.noop", key=f"after-{job.id}")
    if job.payload.get("then") == "fail":
        raise RuntimeError("the outside service said no")
    if job.payload.get("then") == "crash":
        raise KeyboardInterrupt  # the process dies here: nothing below the unit catches it
    if job.payload.get("then") == "linger":
        time.sleep(0.3)  # holds its claim while another worker looks for work


@queue.handler("test.noop")
def _noop(session, job):
    RAN.append(job.id)


@pytest.fixture(autouse=True)
def no_timer(monkeypatch):
    """The queue alone: the workers here run no periodic task (tests/test_scheduled.py does)."""
    monkeypatch.setattr(periodic, "TASKS", {})


@pytest.fixture(autouse=True)
def no_jobs(runtime):
    """Each test starts and ends with an empty table (the database is shared by the session)."""

    def clear():
        with runtime.db.write() as session:
            session.execute(delete(Job))
        RAN.clear()

    clear()
    yield
    clear()


def _queue(runtime, payload=None, **options) -> bool:
    with runtime.db.write() as session:
        return queue.enqueue(session, "test.follow_up", payload or {}, **options)


def _jobs(runtime) -> list[Job]:
    with runtime.db.read() as session:
        jobs = list(session.scalars(select(Job).order_by(Job.id)))
        session.expunge_all()  # read as they are now (the unit's end would expire them)
        return jobs


def _follow_ups(runtime) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.noop"))


def test_a_due_job_runs_once_with_its_effect(runtime, shop):
    # given a job queued for the shop
    _queue(runtime, shop_id=shop.id)

    # when the worker runs what is due, twice
    first = queue.run_due(runtime.db)
    again = queue.run_due(runtime.db)

    # then the job ran once, its effect is there once, and it is done (its follow-up ran too)
    assert first == 2 and again == 0
    parent, child = _jobs(runtime)
    assert (parent.status, parent.attempts, parent.finished_at is not None) == (DONE, 1, True)
    assert child.kind == "test.noop" and child.status == DONE
    assert [parent.id, child.id] == RAN


def test_a_job_waits_for_its_time(runtime, frozen):
    now = clock.now()
    frozen(now)
    _queue(runtime, due_at=now + timedelta(hours=2))

    assert queue.run_due(runtime.db) == 0
    frozen(now + timedelta(hours=2))
    assert queue.run_due(runtime.db) == 2  # the job, then the follow-up it queued


def test_one_key_queues_one_job(runtime):
    added = [_queue(runtime, key="checkpoint:2026-12-07T10") for _ in range(3)]

    assert added == [True, False, False]
    assert len(_jobs(runtime)) == 1


def test_an_unknown_kind_is_refused_when_queued(runtime):
    with pytest.raises(ValueError), runtime.db.write() as session:
        queue.enqueue(session, "test.nobody_runs_this")
    assert _jobs(runtime) == []


def test_a_failing_job_leaves_nothing_and_is_retried_then_kept_as_failed(runtime, frozen):
    now = clock.now()
    frozen(now)
    _queue(runtime, {"then": "fail"}, max_attempts=3)

    # when it fails: its effect is rolled back, and it waits at least 24 s (30 s, -20 %)
    queue.run_due(runtime.db)
    (job,) = _jobs(runtime)
    assert (job.status, job.attempts, _follow_ups(runtime)) == (QUEUED, 1, 0)
    assert job.due_at >= now + timedelta(seconds=24)
    assert job.last_error == "RuntimeError: the outside service said no"

    # when its next tries come and fail too, it stops, failed, with the error kept
    for _ in range(5):
        frozen(clock.now() + timedelta(hours=2))
        queue.run_due(runtime.db)
    (job,) = _jobs(runtime)
    assert (job.status, job.attempts, _follow_ups(runtime)) == (FAILED, 3, 0)
    assert job.last_error.startswith("RuntimeError")


def test_the_backoff_doubles_up_to_an_hour():
    waits = [queue.backoff(n).total_seconds() for n in (1, 2, 3, 10)]

    assert 24 <= waits[0] <= 36 and 48 <= waits[1] <= 72 and 96 <= waits[2] <= 144
    assert 2880 <= waits[3] <= 4320


def test_a_crash_before_the_commit_leaves_the_job_to_run_again_once(runtime):
    # given a job whose process dies after its effect, before the commit
    _queue(runtime, {"then": "crash"})
    with pytest.raises(KeyboardInterrupt):
        queue.run_due(runtime.db)

    # then nothing of it is left: no effect, no try counted
    (job,) = _jobs(runtime)
    assert (job.status, job.attempts, _follow_ups(runtime)) == (QUEUED, 0, 0)

    # when a worker starts again (the job now goes through)
    with runtime.db.write() as session:
        session.get(Job, job.id).payload = {}
    queue.run_due(runtime.db)

    # then its effect is there exactly once
    assert _follow_ups(runtime) == 1
    assert [j.status for j in _jobs(runtime)] == [DONE, DONE]


def test_two_workers_take_different_jobs(runtime):
    # given two due jobs that each take a while
    _queue(runtime, {"then": "linger"})
    _queue(runtime, {"then": "linger"})

    # when two workers look for work at the same moment
    start = threading.Barrier(2)

    def work():
        start.wait()
        queue.run_due(runtime.db, limit=1)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)

    # then each job ran once (on PostgreSQL side by side, on SQLite one after the other)
    parents = [j for j in _jobs(runtime) if j.kind == "test.follow_up"]
    assert [j.status for j in parents] == [DONE, DONE]
    assert sorted(i for i in RAN if i in {p.id for p in parents}) == [p.id for p in parents]
    assert _follow_ups(runtime) == 2


def test_the_worker_is_woken_by_a_commit_before_its_poll(runtime):
    # given a worker that would look for work only every 30 s, idle
    worker = Worker(runtime, poll_seconds=30)
    worker.start()
    try:
        time.sleep(0.2)
        # when a job is queued and something commits (the bus tells the worker)
        _queue(runtime)
        worker.on_event(None)

        # then the job runs within moments, not at the next poll
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(RAN) < 2:
            time.sleep(0.05)
        assert len(RAN) == 2
    finally:
        worker.stop()
    assert [j.status for j in _jobs(runtime)] == [DONE, DONE]


def test_the_server_runs_due_jobs_in_process(runtime):
    # given a job queued before the server starts
    _queue(runtime)
    inline = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"worker": "inline"}))

    # when the server runs (its lifespan starts the worker, SHANGLIAO_WORKER=inline by default)
    with TestClient(create_app(runtime=inline)) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(RAN) < 2:
            time.sleep(0.05)
        ready = client.get("/readyz").json()

    # then the job ran, once, and readiness reports the worker passing
    assert [j.status for j in _jobs(runtime)] == [DONE, DONE]
    assert len(RAN) == 2
    assert ready["status"] == "ready" and ready["worker"]["running"] is True
    assert ready["worker"]["last_pass_seconds_ago"] is not None and ready["worker"]["degraded"] is False


def test_readiness_says_when_no_worker_runs_here(anon):
    assert anon.get("/readyz").json()["worker"] == {"running": False, "degraded": False}
