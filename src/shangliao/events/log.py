"""Append domain events to the durable log inside the writing transaction; publish after commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.events.models import EventLogEntry
from shangliao.shops import counters
from shangliao.storage.database import after_commit
from shangliao.storage.prepared import Prepared

_log = EventLogEntry.__table__
_INSERT = Prepared(insert(_log))
# Called with every batch of rows as it is written, in the writing transaction, so what they make
# (notifications/triggers.py) commits or rolls back with the change itself. Registered at import
# by runtime.py; a watcher that records events of its own must not watch those.
WATCHERS: list[Callable[[Session, list[dict[str, Any]]], None]] = []


# Set on a session (``session.info``) while an automation rule acts: how deep in a chain of rules
# this change is (1 for a rule reacting to a person's change). Stamped on the events it writes.
AUTOMATION_DEPTH = "automation_depth"


@dataclass(frozen=True)
class DomainEvent:
    """``data`` holds ids, statuses and amounts only, never PII (rule 8 of docs/architecture.md)."""

    type: str
    entity_type: str
    entity_id: int | None
    data: dict[str, Any] = field(default_factory=dict)


def rows_for(shop_id: int, last_seq: int, events: list[DomainEvent]) -> list[dict[str, Any]]:
    """Log rows for events whose sequence numbers end at ``last_seq`` (see ``counters.bump``)."""
    first = last_seq - len(events) + 1
    now = clock.now()
    return [
        {
            "shop_id": shop_id,
            "seq": first + i,
            "type": e.type,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "data": e.data,
            "created_at": now,
        }
        for i, e in enumerate(events)
    ]


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write already-numbered rows and announce them once the transaction commits."""
    if not rows:
        return
    depth = session.info.get(AUTOMATION_DEPTH)
    if depth:  # made by the shop's automation: rules triggered by rules stop at a depth
        for row in rows:
            row["data"] = {**row["data"], "auto": depth}
    _INSERT.executemany(session.connection(), rows)
    bus = session.info.get("bus")
    if bus is not None:
        after_commit(session, lambda: bus.publish_many(rows))
    for watch in WATCHERS:  # after: what they record is published after these rows
        watch(session, rows)


def record(session: Session, shop_id: int, events: list[DomainEvent]) -> list[dict[str, Any]]:
    """Number ``events`` from the shop's counter and append them to the log (two statements)."""
    if not events:
        return []
    last_seq = counters.bump(session, shop_id, events=len(events))
    rows = rows_for(shop_id, last_seq, events)
    insert_rows(session, rows)
    return rows


def since(session: Session, shop_id: int, after_seq: int, limit: int = 500) -> list[EventLogEntry]:
    """Events after ``after_seq`` in order: what a reconnecting consumer replays."""
    return list(
        session.scalars(
            select(EventLogEntry)
            .where(EventLogEntry.shop_id == shop_id, EventLogEntry.seq > after_seq)
            .order_by(EventLogEntry.seq)
            .limit(limit)
        )
    )
