"""The orders screen: tabs with counts, filters, one search box, keyset "more", bulk actions.

The list is driven by one form. It is posted (HTMX or plain) rather than put in the URL, because
the search box takes whole phone numbers and a phone number must never sit in a URL (rule 12 of docs/architecture.md);
plain GET links (tabs, bookmarks) work too, without a phone in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select

from shangliao.auth.access import staff_acting
from shangliao.auth.actor import Actor
from shangliao.auth.models import Staff
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, current_locale
from shangliao.orders.batch import ACTION_PERMISSIONS, MAX_BATCH, BatchIn, run_batch
from shangliao.orders.counts import status_counts
from shangliao.orders.listing import OrderQuery, is_full_phone, list_orders, matching_ids
from shangliao.orders.models import Order
from shangliao.orders.payments import payment_status
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import filters_model, in_thread, list_routes, read_form, yuan_to_fen
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

TABS: tuple[tuple[str, str], ...] = (
    ("pending", N_("Pending")),
    ("confirmed", N_("Confirmed")),
    ("preparing", N_("Preparing")),
    ("shipped", N_("Shipped")),
    ("completed", N_("Completed")),
    ("cancelled", N_("Cancelled")),
    ("archived", N_("Archived")),
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
BULK_ACTIONS = (
    ("confirm", N_("Confirm")),
    ("prepare", N_("To preparing")),
    ("assign", N_("Assign")),
    ("tag", N_("Add tag")),
    ("archive", N_("Archive")),
    ("cancel", N_("Cancel")),
)


def filters_from(values: Mapping[str, str]) -> dict[str, str]:
    """The form's filter fields as typed (shown back in the form), the tab defaulting to pending."""
    picked = {name: (values.get(name) or "").strip() for name in FILTER_FIELDS}
    if picked["tab"] not in TAB_NAMES:
        picked["tab"] = "pending"
    return picked


def query_from(filters: dict[str, str], cursor: str | None = None) -> OrderQuery:
    tab = filters["tab"]
    raw: dict[str, Any] = {"archived": "true" if tab == "archived" else "false", "limit": 30}
    if tab not in ("all", "archived"):
        raw["status"] = [tab]
    for name in ("q", "created_from", "created_to", "channel", "payment_status", "tag"):
        if filters[name]:
            raw[name] = filters[name]
    for name in ("amount_min", "amount_max"):
        amount = yuan_to_fen(filters[name], name)
        if amount is not None:
            raw[name] = amount
    if filters["assignee"] == "none":
        raw["unassigned"] = True
    elif filters["assignee"].isdigit():
        raw["assignee_id"] = int(filters["assignee"])
    return filters_model(OrderQuery, raw, cursor)


def staff_of(session, shop_id: int, *, active_only: bool = True) -> list[tuple[int, str]]:
    stmt = select(Staff.id, Staff.display_name).where(Staff.shop_id == shop_id).order_by(Staff.id)
    rows = session.execute(stmt.where(Staff.active.is_(True)) if active_only else stmt)
    return [(r.id, r.display_name) for r in rows]


def _list_view(request: Request, actor: Actor, rt: Runtime, values: Mapping[str, str], *, posted: bool):
    filters = filters_from(values)
    cursor = (values.get("cursor") or "").strip()[:300] or None
    if not posted and is_full_phone(rt.keyring, filters["q"]):
        filters["q"] = ""  # a phone number that came in a URL is not used (nor echoed back)
    query = query_from(filters, cursor)
    with rt.db.read() as session:
        page = list_orders(session.connection(), rt.keyring, actor.shop_id, actor.timezone, query)
        staff_names = dict(staff_of(session, actor.shop_id))
        rows = [_row(order, page.items[order.id], page.tags[order.id], staff_names) for order in page.orders]
        context = {
            "filters": filters,
            "rows": rows,
            "next_cursor": page.next_cursor,
            "staff": list(staff_names.items()),
            "tabs": TABS,
            "channels": CHANNELS,
            "payment_statuses": PAYMENT_STATUSES,
            "payment_labels": dict(PAYMENT_STATUSES),
            "bulk_actions": BULK_ACTIONS,
            "max_batch": MAX_BATCH,
        }
        if cursor is None:
            context["counts"] = status_counts(session, actor.shop_id)
        if is_htmx(request):
            return render(
                request, "orders/_rows.html" if cursor else "orders/_list.html", oob=True, **context
            )
        return render(request, "orders/list.html", section="orders", oob=False, **context)


def _row(order, items: list, tags: list[str], staff_names: dict[int, str]) -> dict[str, Any]:
    return {
        "order": order,
        "tags": tags,
        "first_item": items[0] if items else None,
        "more_items": sum(i.quantity for i in items) - (items[0].quantity if items else 0),
        "payment": payment_status(order.total, order.paid_amount, order.refunded_amount),
        "assignee": staff_names.get(order.assignee_id) if order.assignee_id else None,
    }


list_routes(router, "/orders", "orders.read", _list_view)


@router.post("/orders/bulk")
async def orders_bulk(
    request: Request,
    actor: Actor = Depends(staff_acting(ACTION_PERMISSIONS)),
    rt: Runtime = Depends(get_runtime),
):
    """The bulk bar: one action for the ticked orders (or every order the filters match); the
    action's permission is checked by ``run_batch`` before any order is touched."""
    form = await read_form(request, max_fields=MAX_BATCH + 60)
    return await in_thread(_bulk, request, actor, rt, form)


def _bulk(request: Request, actor: Actor, rt: Runtime, form) -> Any:
    action = form.get("action") or ""
    if form.get("all_matching") == "1":
        ids = _matching_ids(actor, rt, filters_from(form))
    else:
        ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()][:MAX_BATCH]
    if not ids:
        raise Invalid("console.nothing_selected", N_("Tick the orders to change first."))
    params: dict[str, Any] = {}
    if action == "cancel":
        params["reason"] = (form.get("reason") or "").strip()
    elif action == "assign":
        assignee = form.get("assignee_id") or ""
        params["assignee_id"] = int(assignee) if assignee.isdigit() else None
    elif action == "tag":
        params["add"] = [(form.get("tag") or "").strip()]
    try:
        body = BatchIn.model_validate({"order_ids": ids, "action": action, "params": params})
    except ValidationError as exc:
        raise Invalid(
            "console.bad_bulk",
            N_("This bulk action is missing something: pick the action and fill in its field."),
        ) from exc
    outcome = run_batch(rt.db, actor, body, locale=current_locale.get())
    with rt.db.read() as session:
        numbers = _numbers(session, actor.shop_id, ids)
    return render(request, "orders/_bulk_result.html", outcome=outcome, numbers=numbers, action=action)


def _matching_ids(actor: Actor, rt: Runtime, filters: dict[str, str]) -> list[int]:
    """Every order the current filters match, up to one batch: the bulk bar says how many it took."""
    query = query_from(filters).model_copy(update={"limit": MAX_BATCH})
    with rt.db.read() as session:
        return matching_ids(session.connection(), rt.keyring, actor.shop_id, actor.timezone, query)


def _numbers(session, shop_id: int, ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(Order.id, Order.number).where(Order.shop_id == shop_id, Order.id.in_(ids)))
    return {r.id: r.number for r in rows}
