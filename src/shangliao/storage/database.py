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
from functools import cached_property
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from shangliao.storage import hooks
from shangliao.storage.deadline import Watchdog
from shangliao.storage.group_commit import GroupCommitter, Unit
from shangliao.storage.hooks import after_commit
from shangliao.storage.prepared import run_driver_sql

__all__ = ["Database", "after_commit"]

T = TypeVar("T")

# Seconds. A hung database must make requests fail fast (503, see web/errors.py) instead of
# queueing them for the pool's default 30 s; the settings override these.
STATEMENT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 5.0


def _sqlite_engine(
    url: str,
    *,
    synchronous: str,
    pool_size: int | None,
    pool_timeout: float,
    immediate: bool,
    echo: bool,
    busy_timeout: float,
) -> Engine:
    """``pool_size=None``: no pool, a connection of its own each time (the readiness probe)."""
    pooling: dict[str, Any] = (
        {"poolclass": NullPool}
        if pool_size is None
        else {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": pool_timeout}
    )
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": busy_timeout},
        hide_parameters=True,  # errors get logged; their parameters may be personal data
        **pooling,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to us (pysqlite would otherwise BEGIN lazily, deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        if not immediate:  # the readers: a write in a read unit is a bug, refused like PostgreSQL's READ ONLY
            cur.execute("PRAGMA query_only=ON")
        # Only another program (a backup, a CLI command) holds the lock this long: answer 503
        # db.busy (web/errors.py) instead of holding the request and the write queue behind it.
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
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
        statement_timeout: float = STATEMENT_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        pool_timeout: float = POOL_TIMEOUT,
    ) -> None:
        self.url = url
        self.bus = bus
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # SQLite has no statement timeout; the wait for another program's lock is its match.
            options = {"synchronous": synchronous, "echo": echo, "busy_timeout": statement_timeout}
            # The single writer connection is the write queue: a healthy holder may keep it as long
            # as a statement may wait for another program's lock, so a queued unit waits that long
            # plus the pool wait any request gets, then answers 503 db.unavailable.
            writer_wait = statement_timeout + pool_timeout
            self.writer = _sqlite_engine(
                url, pool_size=1, pool_timeout=writer_wait, immediate=True, **options
            )
            self.reader = _sqlite_engine(
                url, pool_size=pool_size, pool_timeout=pool_timeout, immediate=False, **options
            )
            self.committer: GroupCommitter | None = GroupCommitter(self.write_session)
            self._watchdog: Watchdog | None = None
            # Readiness probes open their own connection: the readers' pool may be all in use.
            self._probe = _sqlite_engine(url, pool_size=None, pool_timeout=0, immediate=False, **options)
        else:
            connect_args = _postgres_timeouts(statement_timeout, connect_timeout)
            self.writer = create_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=pool_timeout,
                connect_args=connect_args,
                hide_parameters=True,  # errors get logged; their parameters may be personal data
            )
            self.reader = self.writer
            self.committer = None
            # The server's statement_timeout cancels slow statements; the watchdog covers a server
            # that does not answer at all (it cannot cancel anything then).
            self._watchdog = Watchdog(statement_timeout + connect_timeout, connect_timeout)
            self._watchdog.guard(self.writer)
            # Readiness probes open their own connection: the pool may be full of stuck ones.
            self._probe = create_engine(
                url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True
            )
            self._watchdog.guard(self._probe)

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

    @cached_property
    def _snapshots(self) -> Engine:
        """Where read units run: each is one snapshot of the database.

        SQLite's reader already opens every unit with BEGIN (WAL: a snapshot at the first read).
        PostgreSQL's default, READ COMMITTED, gives each *statement* its own snapshot, so a page's
        second query could see an edit its first did not; REPEATABLE READ keeps the first one for
        the whole unit, and READ ONLY makes a write in a read unit an error. psycopg puts both in
        its BEGIN: no statement more.
        """
        if self.is_sqlite:
            return self.reader
        return self.reader.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (one consistent snapshot); never blocks on the writer."""
        session = Session(self._snapshots, expire_on_commit=False, autoflush=False)
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
        with self._snapshots.connect() as conn:
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

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (``/readyz``; run it off the event
        loop, with a time limit of its own)."""
        with self._probe.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
        self._probe.dispose()
        if self.committer is not None:
            self.committer.close()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _postgres_timeouts(statement_timeout: float, connect_timeout: float) -> dict[str, Any]:
    statement_ms = int(statement_timeout * 1000)
    return {
        "connect_timeout": max(2, round(connect_timeout)),  # libpq's floor is 2 s
        # Also bounds a wait for a row lock (lock_timeout): a stuck lock holder is a hang too.
        "options": f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}",
    }
