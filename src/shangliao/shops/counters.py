"""Per-shop sequence numbers from one counter row (rule 8 of docs/architecture.md), in one statement."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, case, update
from sqlalchemy.orm import Session

from shangliao.shops.models import ShopCounter
from shangliao.storage.prepared import Prepared

_counter = ShopCounter.__table__

# The counter's day never goes back (rule 19 of docs/architecture.md): the caller's day is read
# from the clock *before* this UPDATE waits for the row lock, in the shop's time zone of the
# moment, so a create that read 23:59 may bump after one that read 00:00, a shop may move west,
# and a clock may be set back. Each of those would restart a day already numbered and hand out
# its numbers again; taking the later of the two days cannot. ``yyMMdd`` strings compare as days.
_stays = _counter.c.order_day >= bindparam("day")

# Compiled once: on the hot path, preparing a statement per call cost more than running it.
_BUMP_EVENTS = Prepared(
    update(_counter)
    .where(_counter.c.shop_id == bindparam("shop"))
    .values(event_seq=_counter.c.event_seq + bindparam("n"))
    .returning(_counter.c.event_seq)
)
_BUMP_EVENTS_AND_ORDER = Prepared(
    update(_counter)
    .where(_counter.c.shop_id == bindparam("shop"))
    .values(
        event_seq=_counter.c.event_seq + bindparam("n"),
        order_seq=case((_stays, _counter.c.order_seq + 1), else_=1),
        order_day=case((_stays, _counter.c.order_day), else_=bindparam("day")),
    )
    .returning(_counter.c.event_seq, _counter.c.order_day, _counter.c.order_seq)
)


class OrderSlot(NamedTuple):
    """What :func:`bump_order` reserved: the last event number, and the day and sequence number
    the order's number is made of (the day may be later than the one asked for)."""

    last_event_seq: int
    day: str
    seq: int


def bump(session: Session, shop_id: int, *, events: int) -> int:
    """Reserve ``events`` event sequence numbers; returns the last, so the reserved ones are
    ``last - events + 1 … last``. The row lock this UPDATE takes is held until commit, which
    orders commits per shop."""
    (row,) = _BUMP_EVENTS.execute(session.connection(), {"shop": shop_id, "n": events})
    return row[0]


def bump_order(session: Session, shop_id: int, *, events: int, day: str) -> OrderSlot:
    """:func:`bump`, and one order sequence number on ``day`` (``yyMMdd``) or on the counter's
    later day: build the order number from the returned day, never from ``day``."""
    (row,) = _BUMP_EVENTS_AND_ORDER.execute(session.connection(), {"shop": shop_id, "n": events, "day": day})
    return OrderSlot(row[0], row[1], row[2])
