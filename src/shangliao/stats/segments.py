"""RFM groups of a shop's buyers, read from the ``customers`` row (recency: ``last_order_at``,
frequency: ``order_count``, monetary: ``total_spent``; ``first_order_at`` for the new ones).

One definition serves the customer analysis (how many in each group) and the customer list (who
they are, ``?segment=``), so a group's count and its list always agree:

- **new**: first order within the last 30 days;
- **high_value**: not new, ordered within 90 days, at least twice, and spent at least what the
  shop's average buyer has;
- **at_risk**: last order 90 to 180 days ago, and bought at least twice or spent at least the
  average: good customers slipping away;
- **lost**: no order for more than 180 days.

Other buyers (recent one-off buyers, say) are in no group. Customers who never ordered are none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select

from shangliao.core import clock
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer

Segment = Literal["high_value", "at_risk", "new", "lost"]
SEGMENTS: tuple[Segment, ...] = ("high_value", "at_risk", "new", "lost")
LABELS = {
    "high_value": N_("High value"),
    "at_risk": N_("At risk"),
    "new": N_("New"),
    "lost": N_("Lost"),
}
NEW_DAYS, ACTIVE_DAYS, LAPSED_DAYS = 30, 90, 180

_c = Customer.__table__.c
_AVERAGE = select(func.avg(_c.total_spent)).where(_c.shop_id == bindparam("shop"), _c.order_count > 0)


def average_spend(conn: Connection, shop_id: int) -> float:
    """What the shop's buyers have spent on average (fen)."""
    return float(conn.execute(_AVERAGE, {"shop": shop_id}).scalar() or 0)


def conditions(now: datetime, average: float) -> dict[Segment, Any]:
    """Each group's condition on ``customers`` (the caller scopes it to the shop)."""
    new_since = now - timedelta(days=NEW_DAYS)
    active_since = now - timedelta(days=ACTIVE_DAYS)
    lapsed_since = now - timedelta(days=LAPSED_DAYS)
    valued = _c.total_spent >= average
    return {
        "new": _c.first_order_at >= new_since,
        "high_value": and_(
            _c.first_order_at < new_since, _c.last_order_at >= active_since, _c.order_count >= 2, valued
        ),
        "at_risk": and_(
            _c.last_order_at < active_since,
            _c.last_order_at >= lapsed_since,
            or_(_c.order_count >= 2, valued),
        ),
        "lost": _c.last_order_at < lapsed_since,
    }


def condition(conn: Connection, shop_id: int, segment: Segment):
    """The customer list's filter for ``segment`` (one aggregate for the average spend)."""
    return conditions(clock.now(), average_spend(conn, shop_id))[segment]


def counts(conn: Connection, shop_id: int) -> dict[Segment, int]:
    """How many of the shop's buyers each group holds (two statements over its buyers)."""
    each = conditions(clock.now(), average_spend(conn, shop_id))
    row = conn.execute(
        select(*(func.coalesce(func.sum(case((each[s], 1), else_=0)), 0) for s in SEGMENTS)).where(
            _c.shop_id == shop_id, _c.order_count > 0
        )
    ).one()
    return {s: int(n) for s, n in zip(SEGMENTS, row, strict=True)}
