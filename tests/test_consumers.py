"""Durable consumers of the event log (jobs/consumers.py): the cursor and the effects commit
together, a failing event leaves nothing of itself, and a worker killed mid-unit then restarted
makes every effect exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shangliao.audit.log import record_audit
from shangliao.audit.models import AuditEntry
from shangliao.events.log import DomainEvent, record
from shangliao.jobs import consumers
from shangliao.jobs.consumers import Consumer, follow, once, run_all
from shangliao.jobs.models import ConsumerCursor

ROOT = Path(__file__).resolve().parent.parent
NAME = "test.echo"
ACT = "test.echoed"  # the audit act each handled event leaves, one per event


def echo(session, event, _rt=None) -> None:
    """The effect of one event: an audit row naming its seq (no unique key guards it)."""
    if event.type != "test.ping":
        return
    record_audit(session, event.shop_id, ACT, data={"seq": event.seq})


@pytest.fixture
def echoing(monkeypatch):
    monkeypatch.setattr(consumers, "CONSUMERS", {NAME: Consumer(NAME, echo)})


def ping(runtime, shop, n: int) -> None:
    with runtime.db.write() as session:
        record(session, shop.id, [DomainEvent("test.ping", "shop", shop.id, {"i": i}) for i in range(n)])


def echoed(runtime, shop) -> list[int]:
    with runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry.data).where(AuditEntry.shop_id == shop.id, AuditEntry.act == ACT)
        )
        return sorted(d["seq"] for d in rows)


def cursor_of(runtime, shop) -> int | None:
    with runtime.db.read() as session:
        return session.scalar(
            select(ConsumerCursor.last_seq).where(
                ConsumerCursor.consumer == NAME, ConsumerCursor.shop_id == shop.id
            )
        )


def test_a_consumer_follows_from_the_head_and_passes_each_event_once(runtime, shop, echoing):
    ping(runtime, shop, 2)  # before it follows: history is not replayed
    with runtime.db.write() as session:
        follow(session, NAME, shop.id)
        follow(session, NAME, shop.id)  # a second switch-on changes nothing
    head = cursor_of(runtime, shop)

    ping(runtime, shop, 3)
    run_all(runtime)
    run_all(runtime)

    assert echoed(runtime, shop) == [head + 1, head + 2, head + 3]
    assert cursor_of(runtime, shop) >= head + 3


def test_a_failing_event_leaves_nothing_and_is_skipped_after_its_tries(runtime, shop, monkeypatch, caplog):
    def fragile(session, event, _rt):
        echo(session, event)
        if event.data.get("i") == 1:
            raise RuntimeError("cannot handle this one")

    monkeypatch.setattr(consumers, "CONSUMERS", {NAME: Consumer(NAME, fragile)})
    with runtime.db.write() as session:
        follow(session, NAME, shop.id)
    head = cursor_of(runtime, shop)
    ping(runtime, shop, 3)

    run_all(runtime)
    # the event before the failing one committed with the cursor; the failing one left nothing
    assert echoed(runtime, shop) == [head + 1] and cursor_of(runtime, shop) == head + 1

    for _ in range(consumers.MAX_TRIES):
        run_all(runtime)
    # after its tries it is skipped (and logged), and the shop's later events go on
    assert echoed(runtime, shop) == [head + 1, head + 3]
    assert "skipped after" in caplog.text


def test_effect_keys_are_claimed_once(runtime, shop):
    with runtime.db.write() as session:
        first = once(session, shop.id, NAME, 7, "r1.a0")
        again = once(session, shop.id, NAME, 7, "r1.a0")
        other = once(session, shop.id, NAME, 7, "r1.a1")
    assert (first, again, other) == (True, False, True)


# A worker process: handles the shop's events with the echo consumer, and (with CRASH_AT) dies
# without a word after writing the effect of that event, before its unit commits.
WORKER = textwrap.dedent(
    """
    import os, sys
    from shangliao.config import Settings
    from shangliao.runtime import Runtime
    from shangliao.jobs import consumers
    from tests.test_consumers import NAME, echo
    from shangliao.jobs.consumers import Consumer

    crash_at = int(os.environ.get("CRASH_AT", "0"))

    def dying(session, event, _rt):
        echo(session, event)
        session.flush()
        if crash_at and event.data.get("i") == crash_at:
            os._exit(9)

    consumers.CONSUMERS = {NAME: Consumer(NAME, dying)}
    settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2], secret_key="00" * 32, worker="off")
    runtime = Runtime.build(settings)
    while consumers.run_all(runtime):
        pass
    runtime.close()
    """
)


def run_worker(runtime, crash_at: int | None) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if crash_at is not None:
        env["CRASH_AT"] = str(crash_at)
    settings = runtime.settings
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(settings.data_dir), settings.resolved_database_url],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode


def test_a_worker_killed_mid_unit_then_restarted_makes_each_effect_exactly_once(runtime, shop):
    with runtime.db.write() as session:
        follow(session, NAME, shop.id)
    head = cursor_of(runtime, shop)
    ping(runtime, shop, 12)

    # the worker dies after writing the effect of the 6th event, before its unit commits: what
    # committed is exactly the effects of the events its cursor passed, and not the 6th
    assert run_worker(runtime, crash_at=5) == 9
    passed = cursor_of(runtime, shop)
    assert passed < head + 6 and echoed(runtime, shop) == list(range(head + 1, passed + 1))

    # restarted, it delivers them again: each effect once
    assert run_worker(runtime, crash_at=None) == 0
    assert echoed(runtime, shop) == list(range(head + 1, head + 13))
    assert cursor_of(runtime, shop) == head + 12
    with runtime.db.read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.shop_id == shop.id, AuditEntry.act == ACT)
            )
            == 12
        )
