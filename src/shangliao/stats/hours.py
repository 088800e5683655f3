"""订单时段分布: orders placed per hour of the day, and per weekday × hour, in the shop's zone.

One statement over the range's hourly rollup (at most 24 rows a day, 8,784 in a year's range),
prepared and read as the driver's rows (the day as SQLite's text or psycopg's date, its
weekday worked out once a day).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, String, bindparam, select, type_coerce

from shangliao.stats.models import StatsHourly
from shangliao.stats.period import Period
from shangliao.storage.prepared import Prepared

_h = StatsHourly.__table__.c
_HOURS = Prepared(
    select(type_coerce(_h.day, String), _h.hour, _h.placed).where(
        _h.shop_id == bindparam("shop"), _h.day.between(bindparam("start"), bindparam("end"))
    )
)


def hours(conn: Connection, shop_id: int, period: Period) -> dict[str, Any]:
    by_hour = [0] * 24
    by_weekday = [[0] * 24 for _ in range(7)]  # Monday first, as date.weekday() counts
    weekdays: dict[str | date, int] = {}
    for day, hour, placed in _HOURS.tuples(conn, {"shop": shop_id, "start": period.start, "end": period.end}):
        weekday = weekdays.get(day)
        if weekday is None:
            weekday = weekdays[day] = (day if isinstance(day, date) else date.fromisoformat(day)).weekday()
        by_hour[hour] += placed
        by_weekday[weekday][hour] += placed
    return {**period.out(), "by_hour": by_hour, "by_weekday_hour": by_weekday}
