"""工作台: today and this month against the same stretch before, the range asked for, what waits
for the team, and the range's day-by-day trend.

Four statements whatever the number of orders: the rollup's days (two spans of at most a year and
two months), the tab counts and the after-sales count the order list reads (as the caller sees
them), and whether the consumer follows the shop (a rebuild may be pending).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, String, and_, bindparam, cast, func, select, type_coerce

from shangliao.aftersales.service import open_orders
from shangliao.auth.actor import Actor
from shangliao.jobs.models import ConsumerCursor
from shangliao.orders.counts import tab_counts
from shangliao.stats.models import CONSUMER, StatsDaily
from shangliao.stats.period import Period, month_to_date, today_in
from shangliao.storage.prepared import Prepared

_d = StatsDaily.__table__.c
COLUMNS = ("orders", "paid_orders", "gmv", "refunds", "cancelled")  # the rollup's, in this order
# Prepared (storage/prepared.py): a dashboard is read often, and SQLAlchemy's own work per
# statement would cost more than the statement (bench/dashboard.py).
_DAYS = Prepared(
    # The day as the driver gives it (SQLite's ISO text, psycopg's date: made text below, never
    # by the server's DateStyle) and whole-number sums on both databases (PostgreSQL sums to a
    # numeric): the driver's rows used as they come, no row object made per day.
    select(type_coerce(_d.day, String), *(cast(func.sum(c), BigInteger) for c in
                                   (_d.placed, _d.paid, _d.gmv, _d.refunds, _d.cancelled)))
    .where(_d.shop_id == bindparam("shop"), _d.day.between(bindparam("start"), bindparam("end")))
    .group_by(_d.day)
    .order_by(_d.day)  # Days bisects them
)  # fmt: skip
_FOLLOWED = Prepared(
    select(ConsumerCursor.last_seq).where(
        and_(ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == bindparam("shop"))
    )
)


_NOTHING = (0,) * len(COLUMNS)


class Days:
    """The shop's figures per day (ISO text → the rollup's columns), in day order: a period's
    days are one slice, found by bisection (the overview sums six periods over the same days)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.keys = [str(row[0]) for row in rows]
        self.counts = [row[1:] for row in rows]

    def _span(self, period: Period) -> slice:
        first, last = period.bounds
        start = bisect_left(self.keys, first)
        return slice(start, bisect_right(self.keys, last, start))

    def sums(self, period: Period) -> tuple[int, ...]:
        held = self.counts[self._span(period)]
        return tuple(map(sum, zip(*held, strict=True))) if held else _NOTHING

    def each_day(self, period: Period) -> dict[str, tuple[int, ...]]:
        span = self._span(period)
        return dict(zip(self.keys[span], self.counts[span], strict=True))


def daily(conn: Connection, shop_id: int, *spans: Period) -> Days:
    """The shop's figures per day within ``spans`` (all channels together). Spans that overlap or
    touch are read as one walk of the key (two ranges ORed in one statement made SQLite walk
    every earlier day of the shop)."""
    walks: list[list] = []
    for span in sorted(spans, key=lambda p: p.start):
        if walks and span.start <= walks[-1][1] + timedelta(days=1):
            walks[-1][1] = max(walks[-1][1], span.end)
        else:
            walks.append([span.start, span.end])
    rows: list[tuple[Any, ...]] = []
    for start, end in walks:  # in day order, each walk's rows too
        rows += _DAYS.tuples(conn, {"shop": shop_id, "start": start, "end": end})
    return Days(rows)


def average(gmv: int, paid: int) -> int | None:
    """客单价: GMV per order paid, in fen (rounded half up); none without a paid order."""
    return (2 * gmv + paid) // (2 * paid) if paid else None


def figures(days: Days, period: Period) -> dict[str, Any]:
    """The period's totals, with its average order value."""
    orders, paid_orders, gmv, refunds, cancelled = days.sums(period)  # COLUMNS, spelled out
    return {"orders": orders, "paid_orders": paid_orders, "gmv": gmv, "refunds": refunds,
            "cancelled": cancelled, "aov": average(gmv, paid_orders)}  # fmt: skip


def compared(days: Days, period: Period, previous: Period) -> dict[str, Any]:
    return {
        **period.out(),
        "figures": figures(days, period),
        "previous": {**previous.out(), "figures": figures(days, previous)},
    }


def trend(days: Days, period: Period) -> list[dict[str, Any]]:
    """Every day of the period, those without an order included (zeros)."""
    held = days.each_day(period)
    rows = []
    for day in period.iso_days():
        # Spelled out, not zipped with COLUMNS: a dict per day of a month, on every request.
        orders, paid_orders, gmv, refunds, cancelled = held.get(day, _NOTHING)
        rows.append(
            {"day": day, "orders": orders, "paid_orders": paid_orders, "gmv": gmv, "refunds": refunds,
             "cancelled": cancelled}
        )  # fmt: skip
    return rows


def waiting(conn: Connection, actor: Actor) -> dict[str, int]:
    """What waits for the team, as the order list's tabs count it for this member."""
    tabs = tab_counts(conn, actor)
    return {
        "to_confirm": tabs["pending"],
        "to_ship": tabs["confirmed"] + tabs["preparing"],
        "aftersales_open": open_orders(conn, actor),
    }


def overview(conn: Connection, actor: Actor, period: Period) -> dict[str, Any]:
    today = today_in(actor.timezone)
    month, last_month = month_to_date(today)
    yesterday = Period(today - timedelta(days=1), today - timedelta(days=1))
    previous = period.before()
    days = daily(conn, actor.shop_id, Period(last_month.start, today), Period(previous.start, period.end))
    return {
        "timezone": actor.timezone,
        "today": today,
        "complete": bool(_FOLLOWED.tuples(conn, {"shop": actor.shop_id})),
        "periods": {
            "today": compared(days, Period(today, today), yesterday),
            "month": compared(days, month, last_month),
            "range": compared(days, period, previous),
        },
        "waiting": waiting(conn, actor),
        "trend": trend(days, period),
    }
