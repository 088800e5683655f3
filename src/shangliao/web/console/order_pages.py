"""The orders screen: tabs with counts, filters, one search box, keyset "more", bulk actions.

The list is driven by one form. It is posted (HTMX or plain) rather than put in the URL, because
the search box takes whole phone numbers and a phone number must never sit in a URL (rule 12 of docs/architecture.md);
plain GET links (tabs, bookmarks) work too, without a phone in them. After a posted search the
browser's address bar is set to the GET link of the same view (``HX-Push-Url``), so a view can be
bookmarked, shared, reloaded and reached again with back and forward; a search by a whole phone
number is left out of that address (the number never goes in a URL).

The tabs count the orders of the current search and filters. Bulk actions answer with their
outcome per order and, out of band, the changed rows and the tabs' new counts; a cancel or an
archive first shows what would happen (how many change, which are skipped and why) and runs only
once confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shangliao.aftersales.service import open_orders
from shangliao.auth.access import check_permission, staff, staff_acting
from shangliao.auth.actor import Actor
from shangliao.auth.scope import within_scope
from shangliao.auth.team import staff_of
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, current_locale
from shangliao.documents.api import SLIPS
from shangliao.documents.slips import MAX_SLIPS
from shangliao.orders import counts as order_counts
from shangliao.orders.batch import ACTION_PERMISSIONS, MAX_BATCH, BatchIn, preview_batch, run_batch
from shangliao.orders.cancel_reasons import CANCEL_REASONS, reason_text
from shangliao.orders.counts import counts_matching
from shangliao.orders.listing import OrderQuery, is_full_phone, list_orders, matching_ids
from shangliao.orders.models import Order
from shangliao.orders.payments import payment_status
from shangliao.orders.state import partly_shipped
from shangliao.orders.tag_palette import UNKNOWN as UNKNOWN_COLOR
from shangliao.orders.tag_palette import colors_of
from shangliao.orders.workflow import workflow_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import (
    filters_model,
    in_thread,
    list_routes,
    read_form,
    whole_number,
    yuan_to_fen,
)
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

# Drafts (made from a chat message, or saved half-done) have a tab of their own: they stay out of
# "all", which lists orders someone has to act on, yet must be findable once their toast is gone.
TABS: tuple[tuple[str, str], ...] = (
    ("draft", N_("Draft")),
    ("pending", N_("Pending")),
    ("confirmed", N_("Confirmed")),
    ("preparing", N_("Preparing")),
    ("shipped", N_("Shipped")),
    ("completed", N_("Completed")),
    ("cancelled", N_("Cancelled")),
    ("archived", N_("Archived")),
    ("aftersales", N_("After-sales service")),  # open requests, whatever the order's status (aftersales/)
    ("all", N_("All")),
)
TAB_NAMES = frozenset(name for name, _ in TABS)
FILTER_FIELDS = (
    "tab",
    "q",
    "created_from",
    "created_to",
    "amount_min",
    "amount_max",
    "channel",
    "payment_status",
    "invoice",
    "assignee",
    "tag",
)
CHANNELS = (("chat", N_("Chat")), ("product_link", N_("Product link")), ("manual", N_("Manual")),
            ("quote", N_("Quote sheet")))  # fmt: skip
PAYMENT_STATUSES = (
    ("unpaid", N_("Unpaid")),
    ("partially_paid", N_("Partially paid")),
    ("paid", N_("Paid")),
    ("partially_refunded", N_("Partially refunded")),
    ("refunded", N_("Refunded")),
)
INVOICE_FILTERS = (("requested", N_("To invoice")), ("issued", N_("Invoiced")))
BULK_ACTIONS = (
    ("confirm", N_("Confirm")),
    ("prepare", N_("To preparing")),
    ("print", N_("Print packing slips")),
    ("assign", N_("Assign")),
    ("tag", N_("Add tag")),
    ("archive", N_("Archive")),
    ("cancel", N_("Cancel")),
)
# What the archived tab offers: nothing else applies to an archived order but a restore, an
# assignee or a tag.
ARCHIVED_BULK_ACTIONS = (
    ("restore", N_("Restore")),
    ("assign", N_("Assign")),
    ("tag", N_("Add tag")),
)
# Actions that change many orders past undoing from the list: they show what would happen first.
CONFIRMED_ACTIONS = frozenset({"cancel", "archive"})
# What the bar offers: the batch's actions, and printing their packing slips (documents/), which
# changes nothing and so is no batch action of the API.
PRINT = "print"
BULK_BAR_PERMISSIONS = {**ACTION_PERMISSIONS, PRINT: SLIPS}


def filters_from(values: Mapping[str, str]) -> dict[str, str]:
    """The form's filter fields as typed (shown back in the form), the tab defaulting to pending."""
    picked = {name: (values.get(name) or "").strip() for name in FILTER_FIELDS}
    if picked["tab"] not in TAB_NAMES:
        picked["tab"] = "pending"
    return picked


# Seven digits or more, spaces and dashes allowed between them: "139 1234 5678", "0571-8888888".
_DIGIT_RUN = re.compile(r"\d(?:[\s-]*\d){6,}")


def view_url(filters: dict[str, str]) -> str:
    """The GET address of the view ``filters`` describe (tab and filters; defaults left out)."""
    shown = {k: v for k, v in filters.items() if v and not (k == "tab" and v == "pending")}
    if _DIGIT_RUN.search(shown.get("q", "")):
        # Not only a valid mobile: a name with a number, a mistyped or foreign number is still a
        # phone number, never put in a URL (rule 12 of docs/architecture.md). An order number
        # search is left out too; the address keeps the tab and the other filters.
        shown.pop("q")
    return "/orders" + (f"?{urlencode(shown)}" if shown else "")


def tab_counts(conn, rt: Runtime, actor: Actor, filters: dict[str, str], query: OrderQuery) -> dict[str, int]:
    """Each tab's count for what the view shows: the kept counts when nothing narrows the list,
    otherwise the orders matching the search and filters, counted per tab."""
    if any(v for k, v in filters.items() if k != "tab"):
        return counts_matching(conn, rt.keyring, actor, actor.timezone, query)
    return order_counts.tab_counts(conn, actor) | {"aftersales": open_orders(conn, actor)}


def query_from(filters: dict[str, str], cursor: str | None = None) -> OrderQuery:
    tab = filters["tab"]
    raw: dict[str, Any] = {"archived": "true" if tab == "archived" else "false", "limit": 30}
    if tab == "aftersales":
        raw["aftersales"] = "open"
    elif tab not in ("all", "archived"):
        raw["status"] = [tab]
    for name in ("q", "created_from", "created_to", "channel", "payment_status", "invoice", "tag"):
        if filters[name]:
            raw[name] = filters[name]
    for name in ("amount_min", "amount_max"):
        amount = yuan_to_fen(filters[name], name)
        if amount is not None:
            raw[name] = amount
    if filters["assignee"] == "none":
        raw["unassigned"] = True
    elif (assignee_id := whole_number(filters["assignee"])) is not None:
        raw["assignee_id"] = assignee_id
    return filters_model(OrderQuery, raw, cursor)


def _list_view(request: Request, actor: Actor, rt: Runtime, values: Mapping[str, str], *, posted: bool):
    filters = filters_from(values)
    cursor = (values.get("cursor") or "").strip()[:300] or None
    if not posted and is_full_phone(rt.keyring, filters["q"]):
        filters["q"] = ""  # a phone number that came in a URL is not used (nor echoed back)
    query = query_from(filters, cursor)
    with rt.db.read() as session:
        page = list_orders(session.connection(), rt.keyring, actor, actor.timezone, query)
        staff_names = dict(staff_of(session, actor.shop_id))
        colors = colors_of(session, actor.shop_id)
        skips_preparing = workflow_for(session, actor.shop_id).skip_preparing
        rows = [
            _row(order, page.items[order.id], page.tags[order.id], staff_names, colors)
            for order in page.orders
        ]
        context = {
            "filters": filters,
            "rows": rows,
            "next_cursor": page.next_cursor,
            "staff": list(staff_names.items()),
            "tabs": TABS,
            "channels": CHANNELS,
            "payment_statuses": PAYMENT_STATUSES,
            "invoice_filters": INVOICE_FILTERS,
            "payment_labels": dict(PAYMENT_STATUSES),
            # Only the actions the reader's role may take (the bulk route refuses the others), and
            # not a step the shop's workflow skips.
            "bulk_actions": [
                (action, label)
                for action, label in (ARCHIVED_BULK_ACTIONS if filters["tab"] == "archived" else BULK_ACTIONS)
                if BULK_BAR_PERMISSIONS.get(action) in actor.permissions
                and not (action == "prepare" and skips_preparing)
            ],
            "max_batch": MAX_BATCH,
            "cancel_reasons": CANCEL_REASONS,
            "palette_names": list(colors),  # offered when tagging or filtering by tag
        }
        if cursor is None:
            context["counts"] = tab_counts(session.connection(), rt, actor, filters, query)
        if is_htmx(request):
            response = render(
                request, "orders/_rows.html" if cursor else "orders/_list.html", oob=True, **context
            )
            if posted and cursor is None:
                # The address bar follows the view, a phone number left out of it: reloading a
                # phone search shows the same tab and filters without the search.
                response.headers["HX-Push-Url"] = view_url(filters)
            return response
        return render(request, "orders/list.html", section="orders", oob=False, **context)


def _row(
    order, items: list, tags: list[str], staff_names: dict[int, str], colors: dict[str, str]
) -> dict[str, Any]:
    """One row of the table, from a page of the list or from the ORM (after a bulk action); each
    tag with its palette colour."""
    return {
        "order": order,
        "tags": [(t, colors.get(t, UNKNOWN_COLOR)) for t in tags],
        "first_item": items[0] if items else None,
        "more_items": sum(i.quantity for i in items) - (items[0].quantity if items else 0),
        "payment": payment_status(order.total, order.paid_amount, order.refunded_amount),
        "partly_shipped": partly_shipped(order.status, order.parcels_shipped),
        "assignee": staff_names.get(order.assignee_id) if order.assignee_id else None,
    }


list_routes(router, "/orders", "orders.read", _list_view)


@router.post("/orders/bulk")
async def orders_bulk(
    request: Request,
    actor: Actor = Depends(staff_acting(BULK_BAR_PERMISSIONS)),
    rt: Runtime = Depends(get_runtime),
):
    """The bulk bar: one action for the ticked orders (or every order the filters match); the
    action's permission is checked by ``run_batch`` before any order is touched (printing's here)."""
    form = await read_form(request, max_fields=MAX_BATCH + 60)
    return await in_thread(_bulk, request, actor, rt, form)


def _bulk(request: Request, actor: Actor, rt: Runtime, form) -> Any:
    action = form.get("action") or ""
    filters = filters_from(form)
    if form.get("all_matching") == "1":
        ids = _matching_ids(actor, rt, filters)
    else:
        picked = (whole_number(v) for v in form.getlist("ids") if isinstance(v, str))
        ids = [n for n in picked if n is not None][:MAX_BATCH]
    if not ids:
        raise Invalid("console.nothing_selected", N_("Tick the orders to change first."))
    if action == PRINT:
        return _print_ready(request, actor, rt, ids)
    params: dict[str, Any] = {}
    if action == "cancel":
        # The same reason fields as the order page and the inbox: a code, words for "other".
        fields = (("reason", form.get("reason")), ("reason_note", form.get("other_reason")))
        params = {k: v.strip() for k, v in fields if isinstance(v, str) and v.strip()}
    elif action == "assign":
        params["assignee_id"] = whole_number(str(form.get("assignee_id") or ""))
    elif action == "tag":
        params["add"] = [(form.get("add_tag") or "").strip()]
    try:
        body = BatchIn.model_validate({"order_ids": ids, "action": action, "params": params})
    except ValidationError as exc:
        raise Invalid(
            "console.bad_bulk",
            N_("This bulk action is missing something: pick the action and fill in its field."),
        ) from exc
    locale = current_locale.get()
    if action in CONFIRMED_ACTIONS and form.get("confirmed") != "1":
        preview = preview_batch(rt.db, actor, body, locale)  # reads only: nothing changes yet
        with rt.db.read() as session:
            numbers = _numbers(session, actor, ids)
        return render(
            request,
            "orders/_bulk_preview.html",
            preview=preview,
            numbers=numbers,
            reason=params.get("reason", ""),
            reason_note=params.get("reason_note", ""),
            reason_words=reason_text(params.get("reason"), params.get("reason_note"), locale),
            skipped=_grouped_reasons(preview["results"]),
        )
    outcome = run_batch(rt.db, actor, body, locale=locale)
    with rt.db.read() as session:
        numbers = _numbers(session, actor, ids)
        staff_names = dict(staff_of(session, actor.shop_id))
        orders = session.scalars(
            select(Order)
            .where(Order.shop_id == actor.shop_id, Order.id.in_(ids), *within_scope(actor, Order.assignee_id))
            .options(selectinload(Order.items), selectinload(Order.tag_rows))
        )
        colors = colors_of(session, actor.shop_id)
        rows = [_row(o, list(o.items), [t.tag for t in o.tag_rows], staff_names, colors) for o in orders]
        counts = tab_counts(session.connection(), rt, actor, filters, query_from(filters))
        return render(  # inside the session: the rows' orders are read as the template shows them
            request,
            "orders/_bulk_result.html",
            outcome=outcome,
            numbers=numbers,
            action=action,
            rows=rows,
            counts=counts,
            filters=filters,
            tabs=TABS,
            payment_labels=dict(PAYMENT_STATUSES),
            next_cursor=None,
        )


def _print_ready(request: Request, actor: Actor, rt: Runtime, ids: list[int]) -> Any:
    """A card holding the orders to print, whose button opens their slips in a new tab (a PDF
    cannot arrive through htmx); the orders are checked again when it is pressed."""
    check_permission(actor, SLIPS)
    with rt.db.read() as session:
        numbers = _numbers(session, actor, ids)
    return render(request, "orders/_print_ready.html", ids=[i for i in ids if i in numbers][:MAX_SLIPS])


@router.post("/orders/tab-counts")
async def orders_tab_counts(
    request: Request, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
) -> dict[str, int]:
    """The status tabs' counts for the view posted (its filters), asked by order-list.js when the
    nav badge's counts move, so a new order shows in the tabs without redrawing the list. A POST:
    the search may hold a phone number (rule 12 of docs/architecture.md)."""
    form = await read_form(request)
    filters = filters_from({k: v for k, v in form.items() if isinstance(v, str)})
    return await in_thread(_tab_counts_of, actor, rt, filters)


def _tab_counts_of(actor: Actor, rt: Runtime, filters: dict[str, str]) -> dict[str, int]:
    query = query_from(filters)
    with rt.db.read() as session:
        return tab_counts(session.connection(), rt, actor, filters, query)


def _grouped_reasons(results: list[dict[str, Any]]) -> list[tuple[str, list[int]]]:
    """The skipped orders by reason, in the order the reasons first appear."""
    grouped: dict[str, list[int]] = {}
    for r in results:
        if not r["ok"]:
            grouped.setdefault(r["error"]["message"], []).append(r["id"])
    return list(grouped.items())


def _matching_ids(actor: Actor, rt: Runtime, filters: dict[str, str]) -> list[int]:
    """Every order the current filters match, up to one batch: the bulk bar says how many it took."""
    query = query_from(filters).model_copy(update={"limit": MAX_BATCH})
    with rt.db.read() as session:
        return matching_ids(session.connection(), rt.keyring, actor, actor.timezone, query)


def _numbers(session, actor: Actor, ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(Order.id, Order.number).where(
            Order.shop_id == actor.shop_id, Order.id.in_(ids), *within_scope(actor, Order.assignee_id)
        )
    )
    return {r.id: r.number for r in rows}
