"""Changing many orders in short units of work: a chunk of orders per transaction, walked by id.

Used by the bulk archive and the scheduled sweeps (orders/sweeps.py): a big shop's run neither
holds one huge transaction (nor SQLite's single writer) for minutes, nor loses the chunks already
done when it is interrupted; running it again carries on. Rows another transaction holds are
skipped (``SKIP LOCKED`` on PostgreSQL) and taken by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from shangliao.core.errors import ShangliaoError
from shangliao.orders.models import Order
from shangliao.storage.database import Database

log = logging.getLogger(__name__)

CHUNK = 500


def each_in_chunks(
    db: Database,
    where: ColumnElement[bool],
    act: Callable[[Session, Order], object],
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``act(session, order)`` on every order matching ``where``, ``chunk`` orders per unit of
    work; returns how many it changed. An order ``act`` refuses (its state moved meanwhile) is left
    as it is and the others go on. ``progress`` gets the running total after each chunk."""
    done = 0
    last_id = 0
    while True:
        with db.write() as session:
            # Walking by id keeps each chunk's query cheap and guarantees the loop ends.
            orders = list(
                session.scalars(
                    select(Order)
                    .where(where, Order.id > last_id)
                    .order_by(Order.id)
                    .limit(chunk)
                    .with_for_update(skip_locked=True)
                )
            )
            for order in orders:
                try:
                    with session.begin_nested():
                        act(session, order)
                except ShangliaoError as exc:
                    log.info("order %s left as it is: %s", order.id, exc.code)
                else:
                    done += 1
        if progress is not None and orders:
            progress(done)
        if len(orders) < chunk:
            return done
        last_id = orders[-1].id
