"""Watching the SQL a test's code sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The text of each statement ``engine`` sends inside the block, in order (filled as they go)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
