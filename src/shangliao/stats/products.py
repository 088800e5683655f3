"""商品销售排行: what paid orders sold in the range, by units and by revenue, with the stock
available beside; and the slow movers: on sale, in stock, and selling less than one unit a week
in the range (none at all first).

Two statements: the range's product rollups grouped by product (at most a row per product and
day), and the shop's products on sale with their stock (the catalog, never the orders).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from shangliao.catalog.models import Product, Variant
from shangliao.stats.models import StatsProductDaily
from shangliao.stats.period import Period

TOP = 10
SLOW = 10
WEEK = 7  # a slow mover sells less than a unit per this many days of the range

_s = StatsProductDaily.__table__.c
_SOLD = (
    select(_s.product_id, func.sum(_s.quantity), func.sum(_s.revenue))
    .where(_s.shop_id == bindparam("shop"), _s.day.between(bindparam("start"), bindparam("end")))
    .group_by(_s.product_id)
)
_p, _v = Product.__table__.c, Variant.__table__.c
# Every product of the shop (a ranked one may be off sale now), its stock over its variants on sale.
_CATALOG = (
    select(
        _p.id,
        _p.name,
        _p.active,
        func.coalesce(func.sum(_v.on_hand - _v.reserved).filter(_v.active.is_(True)), 0),
    )
    .select_from(Product.__table__.outerjoin(Variant.__table__, _v.product_id == _p.id))
    .where(_p.shop_id == bindparam("shop"), _p.archived_at.is_(None))
    .group_by(_p.id, _p.name, _p.active)
)


def products(conn: Connection, shop_id: int, period: Period) -> dict[str, Any]:
    params = {"shop": shop_id, "start": period.start, "end": period.end}
    sold = {pid: (int(q or 0), int(r or 0)) for pid, q, r in conn.execute(_SOLD, params)}
    catalog = {pid: (name, active, int(stock)) for pid, name, active, stock in conn.execute(_CATALOG, params)}

    def row(product_id: int) -> dict[str, Any]:
        name, _active, stock = catalog.get(product_id, (None, False, None))
        quantity, revenue = sold.get(product_id, (0, 0))
        return {
            "product_id": product_id or None,  # none: lines typed by hand, not from the catalog
            "name": name,
            "quantity": quantity,
            "revenue": revenue,
            "stock": stock,
        }

    ranked = [pid for pid in sold if sold[pid][0] > 0]
    by_quantity = sorted(ranked, key=lambda pid: (-sold[pid][0], -sold[pid][1], pid))[:TOP]
    by_revenue = sorted(ranked, key=lambda pid: (-sold[pid][1], -sold[pid][0], pid))[:TOP]
    in_stock = [pid for pid, (_n, active, stock) in catalog.items() if active and stock > 0]
    slow_ones = [pid for pid in in_stock if sold.get(pid, (0, 0))[0] * WEEK < period.days]
    slow = sorted(slow_ones, key=lambda pid: (sold.get(pid, (0, 0))[0], -catalog[pid][2], pid))[:SLOW]
    return {
        **period.out(),
        "by_quantity": [row(pid) for pid in by_quantity],
        "by_revenue": [row(pid) for pid in by_revenue],
        "slow_movers": [row(pid) for pid in slow],
    }
