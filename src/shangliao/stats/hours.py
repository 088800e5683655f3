"""订单时段分布: orders placed per hour of the day, and per weekday × hour, in the shop's zone.

One statement over the range's hourly rollup (at most 24 rows a day); the weekday is the day's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from shangliao.stats.models import StatsHourly
from shangliao.stats.period import Period

_h = StatsHourly.__table__.c
_HOURS = select(_h.day, _h.hour, _h.placed).where(
    _h.shop_id == bindparam("shop"), _h.day.between(bindparam("start"), bindparam("end"))
)


def hours(conn: Connection, shop_id: int, period: Period) -> dict[str, Any]:
    by_hour = [0] * 24
    by_weekday = [[0] * 24 for _ in range(7)]  # Monday first, as date.weekday() counts
    for day, hour, placed in conn.execute(
        _HOURS, {"shop": shop_id, "start": period.start, "end": period.end}
    ):
        by_hour[hour] += placed
        by_weekday[day.weekday()][hour] += placed
    return {**period.out(), "by_hour": by_hour, "by_weekday_hour": by_weekday}
