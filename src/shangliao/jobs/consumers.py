"""Durable consumers of the event log: rules and webhooks read each shop's log in order, and the
effects of the events they pass commit in the same transaction as their cursor.

A crash before that commit leaves the cursor where it was: the events are delivered again and
their effects made then, once. After the commit nothing is delivered again. An effect that must
not repeat even on the paths that move no cursor (a retried action, a redelivery) first inserts
its ``(consumer, event, action)`` key (:func:`once`) and acts only when the key is new.

One unit handles at most ``BATCH`` events or about ``BATCH_SECONDS`` of work: on SQLite it holds the
one writer, and a request waiting behind it waits one short unit. Each event runs in a savepoint;
one that raises leaves nothing of itself, the events before it commit, and the next pass tries it
again; after ``MAX_TRIES`` it is skipped and logged, so one poisonous event never stops a shop's
automation. A consumer follows a shop from the moment it is switched on (:func:`follow`, at the
log's head): history is never replayed.

Locks are taken cursor → order → stock → counter; requests take order → stock → counter, so the
two never wait on each other in a cycle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.events.log import since
from shangliao.events.models import EventLogEntry
from shangliao.jobs.models import ConsumerCursor, ConsumerEffect
from shangliao.shops.models import ShopCounter
from shangliao.storage.database import Database

if TYPE_CHECKING:
    from shangliao.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 200
BATCH_SECONDS = 0.05
MAX_TRIES = 5


Handle = Callable[[Session, EventLogEntry, "Runtime"], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Handle
    # Lower goes first in a worker's pass: what people wait for (rules, webhooks) is not held up
    # by the dashboard's rollups when many shops' logs moved at once.
    priority: int = 0


CONSUMERS: dict[str, Consumer] = {}


def consumer(name: str, *, priority: int = 0) -> Callable[[Handle], Handle]:
    """Register ``handle(session, event, runtime)`` as the consumer ``name``."""

    def register(handle: Handle) -> Handle:
        CONSUMERS[name] = Consumer(name, handle, priority)
        return handle

    return register


def insert_for(on: Session | Connection):
    """The dialect's ``insert`` (with ``on_conflict_do_…``) for the database ``on`` talks to."""
    dialect = (on.get_bind() if isinstance(on, Session) else on).dialect
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def follow(session: Session, name: str, shop_id: int) -> None:
    """Have ``name`` read the shop's log from its head on (a no-op when it already does)."""
    head = session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop_id)) or 0
    session.execute(
        insert_for(session)(ConsumerCursor)
        .values(consumer=name, shop_id=shop_id, last_seq=head, errors=0, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["consumer", "shop_id"])
    )


def once(session: Session, shop_id: int, name: str, event_seq: int, action_key: str) -> bool:
    """Claim the effect ``action_key`` of ``name`` for event ``event_seq``: True the first time."""
    statement = (
        insert_for(session)(ConsumerEffect)
        .values(
            shop_id=shop_id, consumer=name, event_seq=event_seq, action_key=action_key, created_at=clock.now()
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "consumer", "event_seq", "action_key"])
        .returning(ConsumerEffect.event_seq)
    )
    return session.execute(statement).first() is not None


def behind(db: Database) -> list[tuple[str, int]]:
    """The ``(consumer, shop)`` cursors short of their shop's head (read without the writer),
    the consumers of a lower ``priority`` first."""
    with db.snapshot() as conn:
        rows = conn.execute(
            select(ConsumerCursor.consumer, ConsumerCursor.shop_id)
            .join(ShopCounter, ShopCounter.shop_id == ConsumerCursor.shop_id)
            .where(ShopCounter.event_seq > ConsumerCursor.last_seq)
        )
        found = [(name, shop_id) for name, shop_id in rows if name in CONSUMERS]
    return sorted(found, key=lambda row: (CONSUMERS[row[0]].priority, row[1]))


def run_consumer(rt: Runtime, name: str, shop_id: int) -> int:
    """One unit of ``name`` over the shop's log; returns how many events it passed."""
    handle = CONSUMERS[name].handle
    with rt.db.write() as session:
        cursor = session.scalar(
            select(ConsumerCursor)
            .where(ConsumerCursor.consumer == name, ConsumerCursor.shop_id == shop_id)
            .with_for_update(skip_locked=True)
        )
        if cursor is None:  # gone, or another worker has it in hand
            return 0
        deadline = time.monotonic() + BATCH_SECONDS
        passed = 0
        # Kept here and written to the cursor once, at the end: a cursor changed after every event
        # was flushed (an UPDATE) by every event's savepoint.
        last_seq, errors = cursor.last_seq, cursor.errors
        for event in since(session, shop_id, last_seq, BATCH):
            try:
                with session.begin_nested():
                    handle(session, event, rt)
            except Exception:
                errors += 1
                if errors < MAX_TRIES:
                    log.warning("%s: event %s of shop %s failed (try %d)", name, event.seq, shop_id, errors)
                    break
                log.exception(
                    "%s: event %s of shop %s skipped after %d tries", name, event.seq, shop_id, MAX_TRIES
                )
            last_seq, errors = event.seq, 0
            passed += 1
            if time.monotonic() > deadline:
                break
        cursor.last_seq, cursor.errors, cursor.updated_at = last_seq, errors, clock.now()
        return passed


def run_all(rt: Runtime, *, max_units: int = 100) -> int:
    """Bring every cursor behind its head forward (at most ``max_units`` units per call, so the
    worker's other duties get their turn); returns how many events were passed."""
    total = units = 0
    for name, shop_id in behind(rt.db):
        while units < max_units:
            units += 1
            passed = run_consumer(rt, name, shop_id)
            total += passed
            if passed == 0:  # caught up, held by another worker, or an event failing
                break
    return total
