"""Engines and units of work.

SQLite allows one writer at a time. Measured here, letting many pooled connections fight over the
lock in SQLite's busy handler starves some of them into "database is locked"; so writes go through
one writer connection whose pool checkout *is* the queue (FIFO, in the application), each write
transaction opened with ``BEGIN IMMEDIATE``. Reads use a separate pool and never wait for writers
(WAL). PostgreSQL simply gets one pooled engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

AfterCommit = Callable[[], None]


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
        conn.exec_driver_sql(begin_sql)

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
        else:
            self.writer = create_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.reader = self.writer

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that may change data: commits on success, rolls back on any error.

        Callbacks registered with :func:`after_commit` run only once the commit has succeeded.
        """
        session = Session(self.writer, expire_on_commit=False, autoflush=True)
        session.info["bus"] = self.bus
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            hooks: list[AfterCommit] = session.info.pop("after_commit", [])
            session.close()
        # Reached only when the commit succeeded: the exception path re-raised above.
        for hook in hooks:
            try:
                hook()
            except Exception:  # a subscriber's failure must not turn a committed request into a 500
                log.exception("after-commit hook failed")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (one consistent snapshot); never blocks on the writer."""
        session = Session(self.reader, expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def after_commit(session: Session, hook: AfterCommit) -> None:
    """Run ``hook`` after ``session`` commits; dropped if it rolls back (rule 2)."""
    session.info.setdefault("after_commit", []).append(hook)
