"""The customers screen: one search box, filters by tag and blacklist, keyset "more".

The search box takes names, whole phone numbers and their last 4, so the list is driven by a
posted form (HTMX or plain): a phone number must never sit in a URL (rule 12 of docs/architecture.md). Plain GET links
work too, for tag and blacklist filters; a phone that arrives in a URL is neither used nor echoed.
Rows show the primary phone masked (138****5678): enough to recognise someone.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from sqlalchemy import select

from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.customers.models import CustomerTag
from shangliao.customers.pii import phone_search
from shangliao.customers.schemas import CustomerSearch
from shangliao.customers.service import list_customers
from shangliao.runtime import Runtime
from shangliao.stats.segments import LABELS as SEGMENT_LABELS
from shangliao.stats.segments import SEGMENTS
from shangliao.web.console.forms import filters_model, list_routes
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
SORTS = (("-last_order_at", N_("Recent buyers first")), ("-id", N_("Newest customers first")))
BLOCKED_CHOICES = (("", N_("Everyone")), ("true", N_("Blacklisted only")), ("false", N_("Not blacklisted")))
FILTER_FIELDS = ("q", "tag", "blocked", "segment", "sort")
MAX_TAG_CHOICES = 200


def filters_from(values: Mapping[str, str]) -> dict[str, str]:
    """The form's fields as typed (shown back in the form), unknown choices set to their default."""
    picked = {name: str(values.get(name) or "").strip() for name in FILTER_FIELDS}
    if picked["sort"] not in dict(SORTS):
        picked["sort"] = SORTS[0][0]
    if picked["blocked"] not in ("true", "false"):
        picked["blocked"] = ""
    if picked["segment"] not in SEGMENTS:  # the dashboard's RFM groups link here (stats/segments.py)
        picked["segment"] = ""
    return picked


def search_from(filters: dict[str, str], cursor: str | None) -> CustomerSearch:
    raw: dict = {"sort": filters["sort"], "limit": PAGE_SIZE}
    for name in ("q", "tag", "segment"):
        if filters[name]:
            raw[name] = filters[name]
    if filters["blocked"]:
        raw["blocked"] = filters["blocked"] == "true"
    return filters_model(CustomerSearch, raw, cursor)


def shop_tags(session, shop_id: int) -> list[str]:
    """The tags the shop's customers carry, for the tag filter."""
    rows = session.scalars(
        select(CustomerTag.tag)
        .distinct()
        .where(CustomerTag.shop_id == shop_id)
        .order_by(CustomerTag.tag)
        .limit(MAX_TAG_CHOICES)
    )
    return sorted(rows)


def _list_view(request: Request, actor: Actor, rt: Runtime, values: Mapping[str, str], *, posted: bool):
    filters = filters_from(values)
    cursor = str(values.get("cursor") or "").strip()[:300] or None
    if not posted and filters["q"] and phone_search(rt.keyring, filters["q"]) is not None:
        filters["q"] = ""  # digits that came in a URL are not used (nor echoed back)
    query = search_from(filters, cursor)
    with rt.db.read() as session:
        page = list_customers(session, rt.keyring, actor.shop_id, query)
        tags = shop_tags(session, actor.shop_id) if cursor is None else []
    context = {
        "filters": filters,
        "rows": page.items,
        "next_cursor": page.next_cursor,
        "tags": tags,
        "sorts": SORTS,
        "blocked_choices": BLOCKED_CHOICES,
        "segments": SEGMENT_LABELS,
    }
    if is_htmx(request):
        return render(request, "customers/_rows.html" if cursor else "customers/_list.html", **context)
    return render(request, "customers/list.html", section="customers", **context)


list_routes(router, "/customers", "customers.read", _list_view)
