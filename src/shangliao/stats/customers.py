"""客户分析, from the ``customers`` rows (first and last order, order count, total spent), never
the orders:

- the top buyers by what they have spent (all time; ``ix_customers_shop_spent``);
- the range's buyers: customers whose latest order falls in the range (``ix_customers_shop_last_order``),
  **new** when their first order does too, **returning** otherwise; the share of them who
  ordered more than once (repeat rate) and the median of their days between orders (first to
  last order over the orders between). For a range ending today these are exactly the customers
  who ordered in it; for an earlier range, a customer who ordered again later counts there;
- the RFM groups (stats/segments.py), each a link to the customer list filtered to it.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from sqlalchemy import Connection, bindparam, select

from shangliao.customers.models import Customer
from shangliao.orders.listing import shop_moment
from shangliao.stats import segments
from shangliao.stats.period import Period

TOP = 10
DAY_SECONDS = 86_400

_c = Customer.__table__.c
_TOP = (
    select(_c.id, _c.name, _c.order_count, _c.total_spent, _c.last_order_at)
    .where(_c.shop_id == bindparam("shop"), _c.order_count > 0)
    .order_by(_c.total_spent.desc(), _c.id.desc())
    .limit(TOP)
)
_BUYERS = select(_c.first_order_at, _c.last_order_at, _c.order_count).where(
    _c.shop_id == bindparam("shop"),
    _c.last_order_at >= bindparam("start"),
    _c.last_order_at < bindparam("end"),
)


def _buyers(conn: Connection, shop_id: int, period: Period, timezone: str) -> dict[str, Any]:
    start, _ = shop_moment(period.start, timezone, end=False)
    end, _ = shop_moment(period.end, timezone, end=True)
    new = returning = repeat = 0
    gaps: list[float] = []
    for first, last, count in conn.execute(_BUYERS, {"shop": shop_id, "start": start, "end": end}):
        if first is not None and first >= start:
            new += 1
        else:
            returning += 1
        if count >= 2:
            repeat += 1
            if first is not None:
                gaps.append((last - first).total_seconds() / DAY_SECONDS / (count - 1))
    buyers = new + returning
    return {
        "buyers": buyers,
        "new": new,
        "returning": returning,
        "repeat_rate": round(repeat / buyers, 4) if buyers else None,
        "median_days_between_orders": round(median(gaps), 1) if gaps else None,
    }


def customers(conn: Connection, shop_id: int, period: Period, timezone: str) -> dict[str, Any]:
    top = [
        {"customer_id": cid, "name": name, "orders": n, "spent": spent, "last_order_at": last}
        for cid, name, n, spent, last in conn.execute(_TOP, {"shop": shop_id})
    ]
    groups = segments.counts(conn, shop_id)
    return {
        **period.out(),
        "top": top,
        **_buyers(conn, shop_id, period, timezone),
        "groups": [{"segment": s, "customers": groups[s]} for s in segments.SEGMENTS],
    }
