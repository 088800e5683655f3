"""工作台: today and this month against the same stretch before, the range asked for, what waits
for the team, and the range's day-by-day trend.

Four statements whatever the number of orders: the rollup's days (two spans of at most a year and
two months), the tab counts and the after-sales count the order list reads (as the caller sees
them), and whether the consumer follows the shop (a rebuild may be pending).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from shangliao.aftersales.service import open_orders
from shangliao.auth.actor import Actor
from shangliao.jobs.models import ConsumerCursor
from shangliao.orders.counts import tab_counts
from shangliao.stats.models import CONSUMER, StatsDaily
from shangliao.stats.period import Period, month_to_date, today_in

_d = StatsDaily.__table__.c
COLUMNS = ("orders", "paid_orders", "gmv", "refunds", "cancelled")  # the rollup's, in this order
_DAYS = (
    select(_d.day, func.sum(_d.placed), func.sum(_d.paid), func.sum(_d.gmv), func.sum(_d.refunds),
           func.sum(_d.cancelled))
    .where(
        _d.shop_id == bindparam("shop"),
        or_(_d.day.between(bindparam("a1"), bindparam("a2")), _d.day.between(bindparam("b1"), bindparam("b2"))),
    )
    .group_by(_d.day)
)  # fmt: skip
_FOLLOWED = select(ConsumerCursor.last_seq).where(
    and_(ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == bindparam("shop"))
)

Days = dict[date, tuple[int, ...]]


def daily(conn: Connection, shop_id: int, first: Period, second: Period) -> Days:
    """The shop's figures per day within two spans (all channels together)."""
    rows = conn.execute(
        _DAYS,
        {"shop": shop_id, "a1": first.start, "a2": first.end, "b1": second.start, "b2": second.end},
    )
    return {day: tuple(int(n or 0) for n in counts) for day, *counts in rows}


def average(gmv: int, paid: int) -> int | None:
    """客单价: GMV per order paid, in fen (rounded half up); none without a paid order."""
    return (2 * gmv + paid) // (2 * paid) if paid else None


def figures(days: Days, period: Period) -> dict[str, Any]:
    """The period's totals, with its average order value."""
    sums = [0] * len(COLUMNS)
    for day, counts in days.items():
        if period.holds(day):
            sums = [a + b for a, b in zip(sums, counts, strict=True)]
    out: dict[str, Any] = dict(zip(COLUMNS, sums, strict=True))
    out["aov"] = average(out["gmv"], out["paid_orders"])
    return out


def compared(days: Days, period: Period, previous: Period) -> dict[str, Any]:
    return {
        **period.out(),
        "figures": figures(days, period),
        "previous": {**previous.out(), "figures": figures(days, previous)},
    }


def trend(days: Days, period: Period) -> list[dict[str, Any]]:
    """Every day of the period, those without an order included (zeros)."""
    zero = (0,) * len(COLUMNS)
    return [{"day": day, **dict(zip(COLUMNS, days.get(day, zero), strict=True))} for day in period.each_day()]


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
        "complete": conn.execute(_FOLLOWED, {"shop": actor.shop_id}).first() is not None,
        "periods": {
            "today": compared(days, Period(today, today), yesterday),
            "month": compared(days, month, last_month),
            "range": compared(days, period, previous),
        },
        "waiting": waiting(conn, actor),
        "trend": trend(days, period),
    }
