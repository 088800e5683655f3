"""``Database.submit``: units that commit together on SQLite yet succeed or fail alone."""

from __future__ import annotations

import asyncio
import threading

import pytest

from shangliao.events import log
from shangliao.events.log import DomainEvent
from shangliao.runtime import Runtime
from shangliao.storage.database import after_commit


class Refused(Exception):
    pass


def _record(shop_id: int, n: int, *, fail: bool = False, published: list | None = None):
    """A unit that appends one event (two statements) and, if ``fail``, then refuses."""

    def unit(session):
        (row,) = log.record(session, shop_id, [DomainEvent("test.unit", "test", n)])
        if published is not None:
            after_commit(session, lambda: published.append(n))
        if fail:
            raise Refused(n)
        return row["seq"]

    return unit


def _logged(runtime: Runtime, shop_id: int) -> list[tuple[int, int]]:
    with runtime.db.read() as session:
        return [(e.entity_id, e.seq) for e in log.since(session, shop_id, 0) if e.type == "test.unit"]


async def _submit_all(runtime: Runtime, units) -> list:
    return await asyncio.gather(*(runtime.db.submit(u) for u in units), return_exceptions=True)


def _submit_behind_busy_writer(runtime: Runtime, units) -> list:
    """Hold the writer while every unit is queued, so that they are committed in batches."""
    holding, release = threading.Event(), threading.Event()

    def hold_the_writer():
        with runtime.db.write() as session:
            session.connection()  # BEGIN IMMEDIATE (SQLite): the writer is taken
            holding.set()
            release.wait(10)

    blocker = threading.Thread(target=hold_the_writer)
    blocker.start()
    holding.wait(10)

    async def submit_then_release():
        futures = [asyncio.ensure_future(runtime.db.submit(u)) for u in units]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    try:
        return asyncio.run(submit_then_release())
    finally:
        release.set()
        blocker.join(10)


def test_concurrent_units_all_commit_with_their_own_results(runtime: Runtime, shop):
    published: list[int] = []
    results = asyncio.run(_submit_all(runtime, [_record(shop.id, n, published=published) for n in range(40)]))
    logged = dict(_logged(runtime, shop.id))
    assert sorted(logged) == list(range(40))
    assert results == [logged[n] for n in range(40)]  # each caller got its own unit's value
    assert sorted(logged.values()) == list(range(min(logged.values()), min(logged.values()) + 40))
    assert sorted(published) == list(range(40))


def test_a_failing_unit_leaves_nothing_and_the_others_commit(runtime: Runtime, shop):
    published: list[int] = []
    units = [_record(shop.id, n, fail=n in (3, 7), published=published) for n in range(12)]
    results = _submit_behind_busy_writer(runtime, units)
    for n, result in enumerate(results):
        if n in (3, 7):
            assert isinstance(result, Refused) and result.args == (n,)
        else:
            assert isinstance(result, int)
    logged = _logged(runtime, shop.id)
    assert sorted(n for n, _ in logged) == [n for n in range(12) if n not in (3, 7)]
    # The units that ran twice (before and after a failure) were written once, numbered without gaps.
    seqs = sorted(seq for _, seq in logged)
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    assert sorted(published) == [n for n in range(12) if n not in (3, 7)]


def test_a_lone_failing_unit_rolls_back(runtime: Runtime, shop):
    published: list[int] = []
    with pytest.raises(Refused):
        asyncio.run(runtime.db.submit(_record(shop.id, 1, fail=True, published=published)))
    assert _logged(runtime, shop.id) == [] and published == []


def test_units_queued_behind_a_busy_writer_share_commits(runtime: Runtime, shop):
    committer = runtime.db.committer
    if committer is None:
        pytest.skip("PostgreSQL groups concurrent commits itself; units run in their own transactions")
    batches_before = committer.batches
    results = _submit_behind_busy_writer(runtime, [_record(shop.id, n) for n in range(50)])
    assert len(set(results)) == 50
    # At most one unit went ahead alone; the other 49 waited and were committed in batches of 32.
    assert committer.batches - batches_before <= 3
