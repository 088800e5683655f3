"""What the stats API answers (money in fen, days in the shop's time zone), and what it is asked."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shangliao.stats.charts import ChartName
from shangliao.stats.period import RangeQuery
from shangliao.stats.segments import Segment


class ChartQuery(RangeQuery):
    chart: ChartName = Field(description="Which chart's numbers.")


class Figures(BaseModel):
    orders: int = Field(description="Orders placed (a draft counts when submitted).")
    paid_orders: int = Field(description="Orders paid in full.")
    gmv: int = Field(description="What the orders paid in full paid (fen).")
    aov: int | None = Field(description="Average order value: gmv / paid_orders (fen); null without one.")
    refunds: int = Field(description="Money refunded (fen).")
    cancelled: int = Field(description="Placed orders cancelled.")


class Span(BaseModel):
    from_: date = Field(alias="from")
    to: date
    figures: Figures


class Compared(Span):
    previous: Span = Field(
        description="The same number of days just before (for a month: the same days of the month before)."
    )


class Periods(BaseModel):
    today: Compared
    month: Compared
    range: Compared


class Waiting(BaseModel):
    to_confirm: int
    to_ship: int = Field(description="Confirmed or preparing.")
    aftersales_open: int = Field(description="Orders with an open after-sales request.")


class TrendDay(BaseModel):
    day: date
    orders: int
    paid_orders: int
    gmv: int
    refunds: int
    cancelled: int


class OverviewOut(BaseModel):
    timezone: str
    today: date
    complete: bool = Field(
        description="False while the figures are being made again (the shop's zone changed, or a new installation)."
    )
    periods: Periods
    waiting: Waiting = Field(description="As the order list counts them for the caller.")
    trend: list[TrendDay]


class ProductRow(BaseModel):
    product_id: int | None = Field(description="Null: lines not taken from the catalog.")
    name: str | None = Field(description="Null when the product is gone.")
    quantity: int
    revenue: int
    stock: int | None = Field(description="Available now over its variants on sale.")


class ProductsOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    by_quantity: list[ProductRow]
    by_revenue: list[ProductRow]
    slow_movers: list[ProductRow] = Field(description="On sale, in stock, less than one unit a week sold.")


class TopCustomer(BaseModel):
    customer_id: int
    name: str
    orders: int
    spent: int
    last_order_at: datetime | None


class GroupCount(BaseModel):
    segment: Segment
    customers: int


class CustomersOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    top: list[TopCustomer]
    buyers: int = Field(description="Customers whose latest order is in the range.")
    new: int
    returning: int
    repeat_rate: float | None
    median_days_between_orders: float | None
    groups: list[GroupCount]


class HoursOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    by_hour: list[int] = Field(description="Orders placed in each hour of the day, 0 to 23.")
    by_weekday_hour: list[list[int]] = Field(description="Seven rows (Monday first) of 24 hours.")


class ChannelRow(Figures):
    channel: str


class ChannelsOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    channels: list[ChannelRow]
