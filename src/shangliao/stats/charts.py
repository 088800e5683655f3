"""Every chart's numbers as a table: the same rows the console's 看数据 shows, downloadable as a
CSV (UTF-8 with a BOM for Excel on Chinese Windows, CRLF), headers in the reader's language.

A chart names the report it comes from (its JSON, as the API answers it) and how that becomes
rows. Names people typed (products, customers) go through ``exports/cells.py csv_text``, so no
cell can run as a formula; money is yuan with two decimals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from shangliao.core.i18n import N_, gettext
from shangliao.exports.cells import csv_text, local_moment
from shangliao.exports.rows import CHANNEL_LABELS
from shangliao.stats.segments import LABELS as SEGMENT_LABELS


class Label(str):
    """A label of ours written in a table's cells (a weekday, a group), translated when written;
    what the shop typed is never taken for one, whatever it says."""


Report = Literal["overview", "products", "customers", "hours", "channels"]
ChartName = Literal[
    "summary", "trend", "top_quantity", "top_revenue", "slow_movers", "top_customers", "buyers",
    "segments", "hours", "weekday_hours", "channels",
]  # fmt: skip

WEEKDAYS = tuple(
    Label(day)
    for day in (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                N_("Sunday"))
)  # fmt: skip
PERIOD_LABELS = {
    ("today", False): N_("Today"),
    ("today", True): N_("Yesterday"),
    ("month", False): N_("This month"),
    ("month", True): N_("Last month, same days"),
    ("range", False): N_("The range"),
    ("range", True): N_("The days before it"),
}


def money(fen: int | None) -> Decimal | None:
    return None if fen is None else (Decimal(fen) / 100).quantize(CENTS)


CENTS = Decimal("0.01")


def cell(value: Any, timezone: str, locale: str, *, for_csv: bool) -> str:
    """A value as the table shows it; in a CSV, text the shop typed can never be a formula."""
    if value is None:
        return ""
    if isinstance(value, Label):
        return gettext(value, locale)
    if isinstance(value, datetime):
        return local_moment(value, timezone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and for_csv:
        return csv_text(value)
    return str(value)


Table = tuple[list[str], list[list[Any]]]  # headers (msgids), rows (values as written)
_FIGURES = (N_("Orders placed"), N_("Paid orders"), N_("GMV (yuan)"), N_("Average order value (yuan)"),
            N_("Refunds (yuan)"), N_("Cancelled orders"))  # fmt: skip


def _figures(f: dict[str, Any]) -> list[Any]:
    return [
        f["orders"],
        f["paid_orders"],
        money(f["gmv"]),
        money(f["aov"]),
        money(f["refunds"]),
        f["cancelled"],
    ]


def _summary(data: dict[str, Any]) -> Table:
    rows = []
    for key, period in data["periods"].items():
        for earlier, shown in ((False, period), (True, period["previous"])):
            rows.append(
                [Label(PERIOD_LABELS[key, earlier]), shown["from"], shown["to"], *_figures(shown["figures"])]
            )
    return [N_("Period"), N_("From"), N_("To"), *_FIGURES], rows


def _trend(data: dict[str, Any]) -> Table:
    return [
        N_("Day"),
        N_("Orders placed"),
        N_("Paid orders"),
        N_("GMV (yuan)"),
        N_("Refunds (yuan)"),
        N_("Cancelled orders"),
    ], [
        [d["day"], d["orders"], d["paid_orders"], money(d["gmv"]), money(d["refunds"]), d["cancelled"]]
        for d in data["trend"]
    ]


def _products(key: str) -> Callable[[dict[str, Any]], Table]:
    def table(data: dict[str, Any]) -> Table:
        return [N_("Product"), N_("Units sold"), N_("Revenue (yuan)"), N_("Stock")], [
            [p["name"] or Label(N_("Other items")), p["quantity"], money(p["revenue"]), p["stock"]]
            for p in data[key]
        ]

    return table


def _top_customers(data: dict[str, Any]) -> Table:
    return [N_("Customer"), N_("Orders placed"), N_("Spent (yuan)"), N_("Last order")], [
        [c["name"], c["orders"], money(c["spent"]), c["last_order_at"]] for c in data["top"]
    ]


def _buyers(data: dict[str, Any]) -> Table:
    rate = data["repeat_rate"]
    return [N_("Figure"), N_("Value")], [
        [Label(N_("Buyers")), data["buyers"]],
        [Label(N_("New buyers")), data["new"]],
        [Label(N_("Returning buyers")), data["returning"]],
        [Label(N_("Repeat rate (%)")), "" if rate is None else f"{rate * 100:.1f}"],
        [Label(N_("Median days between orders")), data["median_days_between_orders"]],
    ]


def _segments(data: dict[str, Any]) -> Table:
    return [N_("Customer group"), N_("Number of customers")], [
        [Label(SEGMENT_LABELS[g["segment"]]), g["customers"]] for g in data["groups"]
    ]


def _hours(data: dict[str, Any]) -> Table:
    return [N_("Hour"), N_("Orders placed")], [[f"{h:02d}:00", n] for h, n in enumerate(data["by_hour"])]


def _weekday_hours(data: dict[str, Any]) -> Table:
    headers = [N_("Weekday"), *(f"{h:02d}" for h in range(24))]  # hours are no msgids: written as they are
    return headers, [[WEEKDAYS[w], *row] for w, row in enumerate(data["by_weekday_hour"])]


def _channels(data: dict[str, Any]) -> Table:
    return [N_("Channel"), *_FIGURES], [
        [
            Label(CHANNEL_LABELS[c["channel"]]) if c["channel"] in CHANNEL_LABELS else c["channel"],
            *_figures(c),
        ]
        for c in data["channels"]
    ]


@dataclass(frozen=True)
class Chart:
    report: Report
    table: Callable[[dict[str, Any]], Table]


CHARTS: dict[str, Chart] = {
    "summary": Chart("overview", _summary),
    "trend": Chart("overview", _trend),
    "top_quantity": Chart("products", _products("by_quantity")),
    "top_revenue": Chart("products", _products("by_revenue")),
    "slow_movers": Chart("products", _products("slow_movers")),
    "top_customers": Chart("customers", _top_customers),
    "buyers": Chart("customers", _buyers),
    "segments": Chart("customers", _segments),
    "hours": Chart("hours", _hours),
    "weekday_hours": Chart("hours", _weekday_hours),
    "channels": Chart("channels", _channels),
}


def table(
    name: str, data: dict[str, Any], locale: str, timezone: str, *, for_csv: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The chart ``name`` of a report's ``data`` as text: its headers and its rows (the console's
    看数据 shows them, the CSV holds them)."""
    headers, rows = CHARTS[name].table(data)
    return (
        [gettext(h, locale) for h in headers],
        [[cell(v, timezone, locale, for_csv=for_csv) for v in row] for row in rows],
    )


def csv_bytes(name: str, data: dict[str, Any], locale: str, timezone: str) -> bytes:
    """The chart ``name`` of a report's ``data`` as a CSV file."""
    headers, rows = table(name, data, locale, timezone, for_csv=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
