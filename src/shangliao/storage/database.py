"""Engines and units of work.

SQLite allows one writer at a time. Measured here, letting many pooled connections fight over the
lock in SQLite's busy handler starves some of them into "database is locked"; so writes go through
one writer connection whose pool checkout *is* the queue (FIFO, in the application), each write
transaction opened with ``BEGIN IMMEDIATE``. Reads use a separate pool and never wait for writers
(WAL). PostgreSQL simply gets one pooled engine.

Hot, small writes (placing an order) go through :meth:`Database.submit` instead: on SQLite they are
group-committed by one thread (``group_commit.py``), on PostgreSQL each runs in its own
transaction on a worker thread, since PostgreSQL already groups concurrent commits itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

from shangliao.storage import hooks
from shangliao.storage.group_commit import GroupCommitter, Unit
from shangliao.storage.hooks import after_commit
from shangliao.storage.prepared import run_driver_sql

__all__ = ["Database", "after_commit"]

T = TypeVar("T")


def _sqlite_engine(url: str, *, synchronous: str, pool_size: int, immediate: bool, echo: bool) -> Engine:
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to us (pysqlite would otherwise BEGIN lazily, deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        run_driver_sql(conn, begin_sql)

    return engine


class Database:
    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        pool_size: int = 8,
        echo: bool = False,
        bus: Any = None,
    ) -> None:
        self.url = url
        self.bus = bus
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, synchronous=synchronous, pool_size=1, immediate=True, echo=echo)
            self.reader = _sqlite_engine(
                url, synchronous=synchronous, pool_size=pool_size, immediate=False, echo=echo
            )
            self.committer: GroupCommitter | None = GroupCommitter(self.write_session)
        else:
            self.writer = create_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.reader = self.writer
            self.committer = None

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that may change data: commits on success, rolls back on any error.

        Callbacks registered with :func:`after_commit` run only once the commit has succeeded.
        """
        session = self.write_session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            committed_hooks = hooks.take(session)
            session.close()
        # Reached only when the commit succeeded: the exception path re-raised above.
        hooks.run(committed_hooks)

    def write_session(self) -> Session:
        """A session on the writer; the caller commits or rolls back, then runs its hooks."""
        session = Session(self.writer, expire_on_commit=False, autoflush=True)
        session.info["bus"] = self.bus
        return session

    async def submit(self, unit: Unit) -> Any:
        """Run ``unit(session)`` in a unit of work that commits, without blocking the event loop.

        The unit may run more than once (see ``group_commit.py``): it must touch nothing but the
        session and return plain data. Raises what the unit raised.
        """
        if self.committer is not None:
            return await self.committer.submit(unit)
        return await to_thread.run_sync(self._run_alone, unit)

    def _run_alone(self, unit: Unit) -> Any:
        with self.write() as session:
            return unit(session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (one consistent snapshot); never blocks on the writer."""
        session = Session(self.reader, expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only unit of work on a bare connection: Core statements only, no ORM session.

        For hot read paths: a session's bookkeeping and ORM loading cost more than a page's SQL.
        """
        with self.reader.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    async def read_in_thread(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` on a :meth:`snapshot`, in one worker-thread trip (the event loop never
        waits on the database)."""
        return await to_thread.run_sync(self._read_alone, work)

    def _read_alone(self, work: Callable[[Connection], T]) -> T:
        with self.snapshot() as conn:
            return work(conn)

    def dispose(self) -> None:
        if self.committer is not None:
            self.committer.close()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
