"""工作台 (the dashboard) and 数据分析 (products, customers, order times, channels), for holders of
``analytics.read``; the console's home for them (``/``), the order list for everyone else.

A page reads its report once (stats/api.py's, the same function and range) for what is written
on it: the figures and every chart's table (看数据, stats/charts.py, the rows its CSV holds).
The charts are drawn by ``static/console/dashboard.js`` with ECharts from the API's JSON, the
address of which each chart carries (``data-source``): no script on the page itself (CSP).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from shangliao.auth.access import signed_in, staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import ShangliaoError
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.exports.rows import CHANNEL_LABELS
from shangliao.runtime import Runtime, get_runtime
from shangliao.stats import charts
from shangliao.stats.api import PERMISSION, REPORTS
from shangliao.stats.charts import WEEKDAYS
from shangliao.stats.period import Period, RangeQuery, asked
from shangliao.stats.segments import LABELS as SEGMENT_LABELS
from shangliao.web.console.forms import filters_model
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

# The analysis pages, each named by its report: its title and its charts in page order.
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "products": (N_("Products"), ("top_quantity", "top_revenue", "slow_movers")),
    "customers": (N_("Customers"), ("segments", "buyers", "top_customers")),
    "hours": (N_("Order times"), ("hours", "weekday_hours")),
    "channels": (N_("Channels"), ("channels",)),
}
CHART_TITLES = {
    "summary": N_("Compared with before"),
    "trend": N_("Day by day"),
    "top_quantity": N_("Best sellers by units"),
    "top_revenue": N_("Best sellers by revenue"),
    "slow_movers": N_("Slow movers: in stock, less than one sold a week"),
    "segments": N_("Customer groups"),
    "buyers": N_("The range's buyers"),
    "top_customers": N_("Top buyers by spend"),
    "hours": N_("Orders by hour of the day"),
    "weekday_hours": N_("Orders by weekday and hour"),
    "channels": N_("Orders by channel"),
}


@router.get("/")
def home(actor: Actor = Depends(signed_in())):
    """The console's home: 工作台 for a member who may read the figures, the order list otherwise."""
    return RedirectResponse("/dashboard" if PERMISSION in actor.permissions else "/orders", status_code=303)


def _period(request: Request, actor: Actor) -> tuple[Period, dict[str, str]]:
    """The range the page's form asks for (both days empty: the last 30 days)."""
    raw = {name: request.query_params[name] for name in ("from", "to") if request.query_params.get(name)}
    return asked(filters_model(RangeQuery, raw, None), actor.timezone), raw


def _chart(name: str, report: str, data: dict[str, Any], actor: Actor, period: Period) -> dict[str, Any]:
    """A chart's title, its table, where its JSON and its CSV are."""
    headers, rows = charts.table(name, data, current_locale.get(), actor.timezone)
    return {
        "name": name,
        "title": CHART_TITLES[name],
        "headers": headers,
        "rows": rows,
        "source": f"/api/v1/stats/{report}?{urlencode(period.out())}",
        "csv": f"/api/v1/stats/csv?{urlencode({'chart': name, **period.out()})}",
    }


def _page(request: Request, actor: Actor, rt: Runtime, report: str, names: tuple[str, ...], **context: Any):
    try:
        period, raw = _period(request, actor)
    except ShangliaoError as exc:  # a bad range: the form again, saying why, with the default range
        period, raw, context["range_error"] = asked(RangeQuery(), actor.timezone), {}, exc.localized()
    with rt.db.snapshot() as conn:
        data = REPORTS[report](conn, actor, period)
    return render(
        request,
        "stats/page.html",
        section="dashboard",
        data=data,
        cards=cards(data) if report == "overview" else [],
        period=period.out(),
        asked=raw,
        charts=[_chart(name, report, data, actor, period) for name in names],
        views=VIEWS,
        labels=_labels(),
        segment_labels=SEGMENT_LABELS,
        **context,
    )


def _labels() -> dict[str, Any]:
    """Words the charts draw (series, weekdays, groups, channels), in the reader's language."""
    words = {
        "orders": N_("Orders placed"),
        "paid_orders": N_("Paid orders"),
        "gmv": N_("GMV (yuan)"),
        "refunds": N_("Refunds (yuan)"),
        "quantity": N_("Units sold"),
        "revenue": N_("Revenue (yuan)"),
        "stock": N_("Stock"),
        "spent": N_("Spent (yuan)"),
        "customers": N_("Number of customers"),
        "new": N_("New buyers"),
        "returning": N_("Returning buyers"),
        "other": N_("Other items"),
    }
    locale = current_locale.get()
    return {
        **{key: gettext(text, locale) for key, text in words.items()},
        "weekdays": [gettext(day, locale) for day in WEEKDAYS],
        "segments": {key: gettext(text, locale) for key, text in SEGMENT_LABELS.items()},
        "channels": {key: gettext(text, locale) for key, text in CHANNEL_LABELS.items()},
    }


# The dashboard's cards: each period, what it is compared with, and the figures shown for it.
PERIOD_CARDS = (
    ("today", N_("Today"), N_("vs yesterday")),
    ("month", N_("This month"), N_("vs the same days last month")),
    ("range", N_("The range"), N_("vs the days before it")),
)
CARD_FIGURES = (
    ("orders", N_("Orders placed"), "count"),
    ("gmv", N_("GMV"), "money"),
    ("aov", N_("Average order value"), "money"),
    ("refunds", N_("Refunds"), "money"),
)


def change(now: int | None, before: int | None) -> float | None:
    """How much ``now`` moved from ``before``, in percent (none when there was nothing before)."""
    if not before or now is None:
        return None
    return round((now - before) * 100 / before, 1)


def cards(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, title, versus in PERIOD_CARDS:
        period = data["periods"][key]
        now, before = period["figures"], period["previous"]["figures"]
        out.append(
            {
                "key": key,
                "title": title,
                "versus": versus,
                "from": period["from"],
                "to": period["to"],
                "figures": [
                    {"key": f, "label": label, "kind": kind, "now": now[f], "before": before[f],
                     "change": change(now[f], before[f])}
                    for f, label, kind in CARD_FIGURES
                ],
            }
        )  # fmt: skip
    return out


@router.get("/dashboard")
def dashboard(
    request: Request, actor: Actor = Depends(staff(PERMISSION)), rt: Runtime = Depends(get_runtime)
):
    return _page(
        request, actor, rt, "overview", ("trend", "summary"), view="dashboard", title=N_("Dashboard")
    )


def _analysis_route(view: str, title: str, names: tuple[str, ...]) -> None:
    def analysis(
        request: Request, actor: Actor = Depends(staff(PERMISSION)), rt: Runtime = Depends(get_runtime)
    ):
        return _page(request, actor, rt, view, names, view=view, title=title)

    analysis.__name__ = f"analysis_{view}"
    router.add_api_route(f"/analysis/{view}", analysis, methods=["GET"])


for _view, (_title, _names) in VIEWS.items():
    _analysis_route(_view, _title, _names)
