"""A client-side deadline for every PostgreSQL round trip.

``statement_timeout`` is enforced by the server, so it does nothing when the server itself hangs
(frozen, swapped out, a network that drops packets without a reset): the client then waits on its
socket for as long as the kernel keeps the connection, and every request that reaches the
database queues behind it. Here each statement, commit, rollback and pool ping is registered with
a watchdog thread while it runs; one that outlives its deadline has its socket shut down, so the
driver fails with "server closed the connection", SQLAlchemy discards the connection, and the
request answers 503 (``web/errors.py``) instead of waiting.

The deadline is longer than the server's own ``statement_timeout``: on a live server the server
cancels first, cleanly, and this only ever fires when nobody is answering.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

TICK = 0.2  # seconds between the watchdog's looks


class Watchdog:
    def __init__(self, statement_deadline: float, ping_deadline: float) -> None:
        self.statement_deadline = statement_deadline
        self.ping_deadline = ping_deadline
        self._running: dict[int, tuple[float, Any]] = {}  # id(dbapi connection) -> (deadline, it)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="shangliao-db-deadline", daemon=True)
        self._thread.start()

    def guard(self, engine: Engine) -> None:
        """Wrap the engine's dialect so each round trip runs under a deadline (a dialect belongs
        to one engine, so this touches no other engine)."""
        dialect = engine.dialect
        for name in ("do_execute", "do_executemany", "do_execute_no_params"):
            setattr(dialect, name, self._on_cursor(getattr(dialect, name), self.statement_deadline))
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._on_connection(getattr(dialect, name), self.statement_deadline))
        dialect.do_ping = self._on_connection(dialect.do_ping, self.ping_deadline)

    def _on_cursor(self, call, seconds: float):
        def guarded(cursor, *args, **kwargs):
            key = self._arm(cursor.connection, seconds)
            try:
                return call(cursor, *args, **kwargs)
            finally:
                self._disarm(key)

        return guarded

    def _on_connection(self, call, seconds: float):
        def guarded(dbapi_connection, *args, **kwargs):
            key = self._arm(dbapi_connection, seconds)
            try:
                return call(dbapi_connection, *args, **kwargs)
            finally:
                self._disarm(key)

        return guarded

    def _arm(self, connection: Any, seconds: float) -> int:
        key = id(connection)
        self._running[key] = (time.monotonic() + seconds, connection)  # one dict store: GIL-atomic
        return key

    def _disarm(self, key: int) -> None:
        self._running.pop(key, None)

    def _watch(self) -> None:
        while not self._stop.wait(TICK):
            now = time.monotonic()
            for key, (deadline, connection) in list(self._running.items()):
                if deadline < now and self._running.get(key, (None,))[0] == deadline:
                    self._running.pop(key, None)
                    _cut(connection)

    def close(self) -> None:
        self._stop.set()


def _cut(connection: Any) -> None:
    """Shut the connection's socket down under the driver's feet (its wait wakes with an EOF)."""
    with contextlib.suppress(Exception):
        fd = connection.fileno()
        # A duplicate of the descriptor: shutdown acts on the socket itself, close only on the copy.
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("database did not answer in time: connection dropped")
