"""Per-shop sequence numbers from one counter row (rule 8 of docs/architecture.md), in one statement."""

from __future__ import annotations

from sqlalchemy import bindparam, case, update
from sqlalchemy.orm import Session

from shangliao.shops.models import ShopCounter
from shangliao.storage.prepared import Prepared

_counter = ShopCounter.__table__


# Compiled once: on the hot path, preparing a statement per call cost more than running it.
_BUMP_EVENTS = Prepared(
    update(_counter)
    .where(_counter.c.shop_id == bindparam("shop"))
    .values(event_seq=_counter.c.event_seq + bindparam("n"))
    .returning(_counter.c.event_seq, _counter.c.order_seq)
)
_BUMP_EVENTS_AND_ORDER = Prepared(
    update(_counter)
    .where(_counter.c.shop_id == bindparam("shop"))
    .values(
        event_seq=_counter.c.event_seq + bindparam("n"),
        order_seq=case((_counter.c.order_day == bindparam("day"), _counter.c.order_seq + 1), else_=1),
        order_day=bindparam("day"),
    )
    .returning(_counter.c.event_seq, _counter.c.order_seq)
)


def bump(session: Session, shop_id: int, *, events: int = 0, order_day: str | None = None) -> tuple[int, int]:
    """Reserve ``events`` event sequence numbers and, with ``order_day``, one order sequence number.

    Returns ``(last_event_seq, order_seq)``: the reserved event numbers are
    ``last_event_seq - events + 1 … last_event_seq``. The row lock this UPDATE takes is held until
    commit, which orders commits per shop.
    """
    params = {"shop": shop_id, "n": events}
    if order_day is None:
        stmt = _BUMP_EVENTS
    else:
        stmt, params["day"] = _BUMP_EVENTS_AND_ORDER, order_day
    (row,) = stmt.execute(session.connection(), params)
    return row[0], row[1]
