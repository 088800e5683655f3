"""Group commit: many small write units in one SQLite transaction, one fsync for all of them.

With ``synchronous=FULL`` every COMMIT waits for the disk, and SQLite has one writer: committing
each order alone makes the fsync the ceiling of the whole shop. Here one thread owns the writer
for a moment at a time: it takes every unit already waiting (up to ``max_batch``), runs them in
one ``BEGIN IMMEDIATE`` … ``COMMIT``, and hands each caller its own result.

Each unit still succeeds or fails alone. The common case (nobody fails) pays no extra statement.
When a unit raises, the whole transaction is rolled back and the batch runs once more with a
SAVEPOINT around each unit, so a failed unit leaves nothing behind and the others commit. A
unit may therefore run twice: it must be a function of the session and its own arguments, with no
effect outside the database except through :func:`~shangliao.storage.database.after_commit`,
and it returns plain data (rendered inside the unit), not ORM objects that a rollback would
expire. A caller sees its result only after COMMIT succeeded; if COMMIT fails, every unit of the
batch gets that error and nothing of it was written.

The same writer connection also serves ``Database.write()`` from other threads: the pool of size
one queues both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shangliao.storage import hooks

log = logging.getLogger(__name__)

Unit = Callable[[Session], Any]
_STOP = object()


@dataclass
class _Pending:
    unit: Unit
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    ok: bool = False
    value: Any = None


class GroupCommitter:
    def __init__(self, new_session: Callable[[], Session], *, max_batch: int = 32) -> None:
        self.new_session = new_session
        self.max_batch = max_batch
        self.batches = 0  # committed or failed transactions, for tests and benches
        self.units = 0
        # A queue per writer thread, so that close() stops exactly the thread it meant.
        self._queue: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, unit: Unit) -> asyncio.Future:
        """Queue ``unit(session)``; the returned future resolves after its batch commits."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if self._thread is None:
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._queue,), name="shangliao-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(_Pending(unit, future, loop))
        return future

    def close(self, timeout: float = 30) -> None:
        """Finish the units already queued and stop the thread (like ``Engine.dispose()``, a
        later :meth:`submit` starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
                self._queue = None
        if thread is not None:
            thread.join(timeout)

    def _serve(self, units: queue.SimpleQueue) -> None:
        stopping = False
        while not stopping:
            first = units.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = units.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True  # finish what was queued before close()
                    break
                batch.append(more)
            try:
                self._commit(batch)
            except BaseException as exc:  # never let the writer thread die with callers waiting
                log.exception("group commit failed")
                for pending in batch:
                    pending.ok, pending.value = False, exc
            self._deliver(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.units += len(batch)
        if not self._attempt(batch, isolated=False):
            self._attempt(batch, isolated=True)

    def _attempt(self, batch: list[_Pending], *, isolated: bool) -> bool:
        """Run the batch in one transaction; False if a unit failed and nothing was committed.

        ``isolated`` wraps each unit in a SAVEPOINT, so a failure there is that unit's alone.
        A lone unit needs no savepoint: its failure rolls back a transaction holding only it.
        """
        for pending in batch:  # every caller gets an answer, whatever happens below
            pending.ok, pending.value = False, RuntimeError("the write was not carried out")
        session = self.new_session()
        alone = len(batch) == 1
        try:
            for pending in batch:
                hooks_before = hooks.pending_count(session)
                savepoint = session.begin_nested() if isolated and not alone else None
                try:
                    pending.value = pending.unit(session)
                    session.flush()
                    pending.ok = True
                except Exception as exc:
                    if savepoint is None and not alone:
                        session.rollback()
                        return False
                    if savepoint is not None:
                        savepoint.rollback()
                        hooks.drop_since(session, hooks_before)
                    else:
                        session.rollback()
                        hooks.take(session)
                    pending.ok, pending.value = False, exc
                    continue
                if savepoint is not None:
                    savepoint.commit()
            session.commit()
        except Exception as exc:
            session.rollback()
            for pending in batch:
                if pending.ok:
                    pending.ok, pending.value = False, exc
            return True
        finally:
            committed_hooks = hooks.take(session)
            session.close()
        hooks.run(committed_hooks)
        return True

    @staticmethod
    def _deliver(batch: list[_Pending]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for pending in batch:
            by_loop.setdefault(pending.loop, []).append(pending)
        for loop, done in by_loop.items():
            # One wake-up per loop and batch. A closed loop raises: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, done)


def _resolve(done: list[_Pending]) -> None:
    for pending in done:
        if pending.future.done():  # the caller was cancelled (client went away)
            continue
        if pending.ok:
            pending.future.set_result(pending.value)
        elif isinstance(pending.value, BaseException):
            pending.future.set_exception(pending.value)
        else:  # cannot happen by construction; a caller must never wait forever all the same
            pending.future.set_exception(RuntimeError("the write ended without an outcome"))
