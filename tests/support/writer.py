"""Watching SQLite's one writer connection: did a request reach it (rule 16 of docs/architecture.md)?"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def writer_transactions(runtime) -> Iterator[list]:
    """Transactions begun on SQLite's one writer connection meanwhile (PostgreSQL has no single
    writer to protect, and its pool serves reads too: nothing is counted there)."""
    begun: list = []
    if not runtime.db.is_sqlite:
        yield begun
        return

    def count(_conn) -> None:
        begun.append(1)

    event.listen(runtime.db.writer, "begin", count)
    try:
        yield begun
    finally:
        event.remove(runtime.db.writer, "begin", count)
