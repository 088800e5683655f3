"""``/api/v1/stats``: the dashboard's and the analysis pages' figures, for holders of
``analytics.read``. Each answer is read in one worker-thread trip on one snapshot, from the
rollups (and, for customers, the customers rows): never a scan of the shop's orders.

``?from=&to=`` picks whole days in the shop's time zone (default: the last 30 days to today;
at most 366; in order). ``/stats/csv?chart=`` answers one chart's numbers as a CSV file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import Connection

from shangliao.auth.actor import Actor
from shangliao.core.i18n import current_locale
from shangliao.runtime import Runtime
from shangliao.stats import charts
from shangliao.stats.channels import channels
from shangliao.stats.customers import customers
from shangliao.stats.hours import hours
from shangliao.stats.overview import overview
from shangliao.stats.period import Period, RangeQuery, asked
from shangliao.stats.products import products
from shangliao.stats.schemas import ChannelsOut, ChartQuery, CustomersOut, HoursOut, OverviewOut, ProductsOut
from shangliao.web.hot_reads import HotRead, hot_read
from shangliao.web.query_params import query_docs
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/stats", tags=["stats"])
PERMISSION = "analytics.read"

ReportFn = Callable[[Connection, Actor, Period], dict[str, Any]]
REPORTS: dict[str, ReportFn] = {
    "overview": overview,
    "products": lambda conn, actor, period: products(conn, actor.shop_id, period),
    "customers": lambda conn, actor, period: customers(conn, actor.shop_id, period, actor.timezone),
    "hours": lambda conn, actor, period: hours(conn, actor.shop_id, period),
    "channels": lambda conn, actor, period: channels(conn, actor.shop_id, period),
}


async def report(rt: Runtime, actor: Actor, name: str, period: Period) -> dict[str, Any]:
    return await rt.db.read_in_thread(lambda conn: REPORTS[name](conn, actor, period))


def _route(name: str, model: type, summary: str) -> None:
    async def answer(read: HotRead[RangeQuery] = Depends(hot_read(PERMISSION, RangeQuery))):
        period = asked(read.query, read.actor.timezone)  # a bad range is refused before any read
        return JSONResponse(await report(read.rt, read.actor, name, period))

    answer.__doc__ = summary
    answer.__name__ = f"stats_{name}"
    router.add_api_route(
        f"/{name}", answer, methods=["GET"], response_model=model, openapi_extra=query_docs(RangeQuery)
    )


_route(
    "overview",
    OverviewOut,
    """工作台: today and this month against the same days before, the range against the days before
    it, what waits for the team (as the order list counts it for the caller), and the range's trend.""",
)
_route(
    "products",
    ProductsOut,
    "Products by units sold and by revenue in the range (paid orders), with their stock; slow movers.",
)
_route(
    "customers",
    CustomersOut,
    """Top buyers by what they spent; the range's buyers, new and returning, repeat rate and median days
    between orders; how many buyers each RFM group holds (`GET /customers?segment=` lists them).""",
)
_route("hours", HoursOut, "Orders placed per hour of the day, and per weekday and hour, in the shop's zone.")
_route("channels", ChannelsOut, "The range's figures per channel: chat, product link, manual, quote sheet.")


@router.get(
    "/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The chart's numbers (UTF-8, BOM)."}},
    openapi_extra=query_docs(ChartQuery),
)
async def stats_csv(read: HotRead[ChartQuery] = Depends(hot_read(PERMISSION, ChartQuery))):
    """One chart's numbers as a CSV file, headers in the reader's language; names as text a
    spreadsheet never evaluates."""
    actor, query = read.actor, read.query
    period = asked(query, actor.timezone)
    data = await report(read.rt, actor, charts.CHARTS[query.chart].report, period)
    body = charts.csv_bytes(query.chart, data, current_locale.get(), actor.timezone)
    filename = f"{query.chart}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
