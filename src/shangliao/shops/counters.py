"""Per-shop sequence numbers from one counter row (rule 8), in one statement."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from shangliao.shops.models import ShopCounter

_counter = ShopCounter.__table__


def bump(session: Session, shop_id: int, *, events: int = 0, order_day: str | None = None) -> tuple[int, int]:
    """Reserve ``events`` event sequence numbers and, with ``order_day``, one order sequence number.

    Returns ``(last_event_seq, order_seq)``: the reserved event numbers are
    ``last_event_seq - events + 1 … last_event_seq``. The row lock this UPDATE takes is held until
    commit, which orders commits per shop.
    """
    values: dict = {"event_seq": _counter.c.event_seq + events}
    if order_day is not None:
        values["order_seq"] = case((_counter.c.order_day == order_day, _counter.c.order_seq + 1), else_=1)
        values["order_day"] = order_day
    row = session.execute(
        update(_counter)
        .where(_counter.c.shop_id == shop_id)
        .values(values)
        .returning(_counter.c.event_seq, _counter.c.order_seq)
    ).one()
    return row[0], row[1]
