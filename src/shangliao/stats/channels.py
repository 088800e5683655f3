"""渠道分布: the range's figures per channel an order came through (chat, product link, manual,
quote), every channel listed, from the daily rollup (one grouped statement)."""

from __future__ import annotations

from typing import Any, get_args

from sqlalchemy import Connection, bindparam, func, select

from shangliao.orders.schemas import Channel
from shangliao.stats.models import StatsDaily
from shangliao.stats.overview import COLUMNS, average
from shangliao.stats.period import Period

CHANNELS: tuple[str, ...] = get_args(Channel)

_d = StatsDaily.__table__.c
_BY_CHANNEL = (
    select(_d.channel, func.sum(_d.placed), func.sum(_d.paid), func.sum(_d.gmv), func.sum(_d.refunds),
           func.sum(_d.cancelled))
    .where(_d.shop_id == bindparam("shop"), _d.day.between(bindparam("start"), bindparam("end")))
    .group_by(_d.channel)
)  # fmt: skip


def channels(conn: Connection, shop_id: int, period: Period) -> dict[str, Any]:
    found = {
        channel: [int(n or 0) for n in counts]
        for channel, *counts in conn.execute(
            _BY_CHANNEL, {"shop": shop_id, "start": period.start, "end": period.end}
        )
    }
    rows = []
    for channel in (*CHANNELS, *sorted(set(found) - set(CHANNELS))):
        figures = dict(zip(COLUMNS, found.get(channel, [0] * len(COLUMNS)), strict=True))
        rows.append({"channel": channel, **figures, "aov": average(figures["gmv"], figures["paid_orders"])})
    return {**period.out(), "channels": rows}
