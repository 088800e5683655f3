"""The rollups behind the dashboard: one row per shop and local day (and channel, hour or product),
so a report over a year reads a few hundred rows whatever the number of orders.

Days are the shop's (``shops.timezone``). A row only grows by what an event adds, or is written
whole by a rebuild; the consumer's retries are safe because its effects commit with its cursor
(jobs/consumers.py). Rollups are not evidence: they go with their shop (CASCADE).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.storage.base import Base
from shangliao.storage.types import BigId

CONSUMER = "stats"  # the event-log consumer keeping these tables (stats/consumer.py)


class _ShopDay:
    """The key every rollup starts with: the shop (rule 4 of docs/architecture.md) and its day, so
    a report's range of days is one walk of the primary key."""

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class StatsDaily(_ShopDay, Base):
    """Per local day and channel: orders placed (a draft counts when it is submitted), orders paid
    in full and what they paid (GMV, fen), money refunded (fen) and placed orders cancelled, each
    counted on the day it happened."""

    __tablename__ = "stats_daily"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "day", "channel"),)

    channel: Mapped[str] = mapped_column(String(16))
    placed: Mapped[int] = mapped_column(Integer, default=0)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)


class StatsHourly(_ShopDay, Base):
    """Orders placed per local day and hour (the weekday × hour heatmap reads the day's weekday)."""

    __tablename__ = "stats_hourly"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "day", "hour"),)

    hour: Mapped[int] = mapped_column(SmallInteger)
    placed: Mapped[int] = mapped_column(Integer, default=0)


class StatsProductDaily(_ShopDay, Base):
    """What paid orders sold of each product on the local day they were paid in full: units and
    their line amounts (fen). ``product_id`` 0 holds lines not taken from the catalog. No foreign
    key: a product deleted later keeps its history."""

    __tablename__ = "stats_product_daily"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "day", "product_id"),)

    product_id: Mapped[int] = mapped_column(BigId)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
