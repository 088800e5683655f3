"""The staff inbox: conversations on the left, the chat in the middle, the customer and their
orders on the right, so an order is handled while chatting, without switching screens.

The server draws the list, the rows and the side panel (HTML, HTMX fragments); ``inbox.js`` draws
the messages from the JSON API and the staff socket, building every node with ``textContent``:
message text is never parsed as HTML. Live changes refetch the affected row or panel from here, so
the server stays the one place that decides what a row or the panel shows.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from markupsafe import Markup
from sqlalchemy import exists, select

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.auth.models import Staff
from shangliao.auth.scope import within_scope
from shangliao.chat import service as chat
from shangliao.chat.cards import card_view, opened_message
from shangliao.chat.inbox import in_list, inbox, last_messages
from shangliao.chat.models import Conversation, Message
from shangliao.chat.views import message_out
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.core.schemas import PathId
from shangliao.customers import service as customers
from shangliao.customers.models import Customer
from shangliao.orders.cancel_reasons import CANCEL_REASONS
from shangliao.orders.couriers import COURIERS
from shangliao.orders.models import Order
from shangliao.orders.state import STATUS_LABELS, Status, allowed_actions
from shangliao.orders.workflow import Workflow, paid_in_full, workflow_for
from shangliao.payments.checkout import METHOD_LABELS
from shangliao.realtime.feed import head_seq, order_card_state
from shangliao.runtime import Runtime, get_runtime
from shangliao.storefront.claims import claiming, claims_of
from shangliao.web.console.order_pages import staff_of
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
HISTORY = 50  # messages drawn when a chat opens; scrolling up loads more
PANEL_ORDERS = 10
TABS = (
    ("all", N_("All")),
    ("mine", N_("Mine")),
    ("unassigned", N_("Unassigned")),
    ("open_orders", N_("With open orders")),
    ("closed", N_("Closed")),
)
# What the list shows for a message that is not plain text.
PREVIEWS = {
    "image": N_("[Image]"),
    "file": N_("[File]"),
    "product_card": N_("[Product]"),
    "order_card": N_("[Order]"),
    "order_request": N_("[Order request]"),
    "payment_request": N_("[Payment request]"),
    "quote_card": N_("[Quote]"),
}
# The panel offers these lifecycle steps in the chat; the rest stay on the order page.
PANEL_ACTIONS = ("confirm", "ship", "cancel")
# Checkpoint "details": the order as confirmed, sent for the customer to check.
DETAILS_STATUSES = frozenset({Status.CONFIRMED.value, Status.PREPARING.value, Status.SHIPPED.value})

# Words inbox.js shows, translated here (the catalogs live on the server).
JS_TEXT = {
    "recalled_other": N_("The customer recalled a message"),
    "recalled_mine": N_("You recalled a message"),
    "recalled_staff": N_("A colleague recalled a message"),
    "recall": N_("Recall"),
    "read": N_("Read"),
    "unread": N_("Unread"),
    "sending": N_("Sending…"),
    "failed": N_("Not sent"),
    "retry": N_("Retry"),
    "typing": N_("The customer is typing…"),
    "parcel_n": N_("(parcel {n})"),  # an order card's numbers, one parcel after another (inbox.js)
    "parcel_separator": N_(", "),
    "reconnecting": N_("Reconnecting…"),
    "load_earlier": N_("Load earlier messages"),
    "no_more": N_("This is the start of the conversation."),
    "image": N_("Image"),
    "file": N_("File"),
    "product": N_("Product"),
    "order": N_("Order"),
    "order_request": N_("The customer picked products"),
    "open_draft": N_("Open the draft"),
    "tracking": N_("Tracking"),
    "total": N_("Total"),
    "shipping": N_("Shipping"),
    "discount": N_("Discount"),
    "remark": N_("Remark"),
    "payment_request": N_("Payment request"),
    "amount_due": N_("Amount due"),
    "paid": N_("Paid"),
    "offered": N_("Offered: {methods}"),
    **{f"method_{kind}": label for kind, label in METHOD_LABELS.items()},
    "quote": N_("Quote"),
    "send_card": N_("Send card"),
    "add": N_("Add"),
    "remove": N_("Remove"),
    "no_products": N_("No products found."),
    "draft_from_message": N_("Create a draft from this message"),
    "draft_created": N_("Draft order {number} created."),
    "complete_draft": N_("Complete it"),
    "draft_empty": N_("Add at least one product first."),
    "unmatched": N_("Not recognised: {words}"),
    "missing_vars": N_("Fill in by hand: {names}"),
    "no_replies": N_("No quick reply starts with that."),
    "reply_order_auto": N_("The latest order"),
    "filled_from": N_("Filled in from order #{number}"),
    "saved": N_("Saved."),
    "sent": N_("Sent."),
    "network": N_("The network is down; try again in a moment."),
    "checkpoint_details": N_("Order details to check"),
    "checkpoint_photos": N_("Product photos"),
    "checkpoint_tracking": N_("Tracking number"),
    "checkpoint_inspect": N_("Inspect on delivery"),
}


def script_json(value: Any) -> Markup:
    """JSON to embed in a ``<script type="application/json">``: no ``<``, ``>`` or ``&`` survive, so
    a message saying ``</script>`` cannot end the element early."""
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _recalled_text(message: Message, viewer_id: int | None) -> str:
    """Who took it back, as the viewer says it: the customer, you, or a colleague."""
    if message.sender_type == "customer":
        return gettext(JS_TEXT["recalled_other"])
    return gettext(JS_TEXT["recalled_mine" if message.sender_id == viewer_id else "recalled_staff"])


def preview(message: Message | None, viewer_id: int | None = None) -> dict[str, Any]:
    """The one line the list shows (to staff member ``viewer_id``) for a conversation's last message."""
    if message is None:
        return {"text": "", "mine": False}
    mine = message.sender_type != "customer"
    if message.recalled_at is not None:
        text = _recalled_text(message, viewer_id)
    elif message.kind in PREVIEWS:
        label = gettext(PREVIEWS[message.kind])
        detail = message.data.get("name") or message.data.get("number") or message.body
        text = f"{label} {detail}".strip()
    else:
        text = message.body
    return {"text": text[:80], "mine": mine}


def _row(
    c: Conversation,
    name: str,
    last: Message | None,
    staff_names: dict[int, str],
    viewer_id: int | None,
    claimed: bool = False,
) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_name": name,
        "unread": c.staff_unread,
        "at": c.last_message_at,
        "at_ms": int(c.last_message_at.timestamp() * 1000),
        "assignee": staff_names.get(c.assignee_id, "") if c.assignee_id else "",
        "preview": preview(last, viewer_id),
        "claimed": claimed,  # a device here says it is another customer: staff may link it
    }


def _claiming(session, actor: Actor, customer_ids: list[int]) -> set[int]:
    """Rows to mark "says they are …": only for staff who may see whom (as the panel shows it)."""
    if "customers.read" not in actor.permissions:
        return set()
    return claiming(session, actor.shop_id, customer_ids)


def _which(value: str) -> str:
    return value if value in dict(TABS) else "all"


def _list_context(session, actor: Actor, which: str, cursor: str | None) -> dict[str, Any]:
    page, next_cursor = inbox(session, actor, which, cursor, PAGE_SIZE)
    names = dict(staff_of(session, actor.shop_id, active_only=False))
    # Whom the bulk assignment offers (the rules refuse one whose role cannot read chats, clearly).
    assignable = staff_of(session, actor.shop_id) if "orders.assign" in actor.permissions else []
    claimed = _claiming(session, actor, [c.customer_id for c, _, _ in page])
    return {
        "rows": [
            _row(c, name, last, names, actor.staff_id, c.customer_id in claimed) for c, name, last in page
        ],
        "next_cursor": next_cursor,
        "which": which,
        "tabs": TABS,
        "assignable": assignable,
        "event_seq": head_seq(session, actor.shop_id),
    }


def _in_filter(session, actor: Actor, c: Conversation, which: str) -> bool:
    conditions = in_list(actor, which)
    return bool(session.scalar(select(exists().where(Conversation.id == c.id, *conditions))))


def _order_view(o: Order, flow: Workflow) -> dict[str, Any]:
    archived = o.archived_at is not None
    actions = [] if archived else allowed_actions(Status(o.status), flow, paid_in_full=paid_in_full(o))
    return {
        **order_card_state(o),
        "id": o.id,
        "version": o.version,
        "created_at": o.created_at,
        "actions": [a for a in PANEL_ACTIONS if a in actions],
        "is_draft": o.status == Status.DRAFT.value,
        "can_send_details": not archived and o.status in DETAILS_STATUSES,
        "unpaid": o.total - o.paid_amount,
    }


def _assignee_name(session, conversation: Conversation) -> str:
    if conversation.assignee_id is None:
        return ""
    member = session.get(Staff, conversation.assignee_id)
    return member.display_name if member is not None else ""


def panel_context(session, rt: Runtime, actor: Actor, conversation: Conversation) -> dict[str, Any]:
    """The customer beside the chat: who they are, their orders and what can be done with them."""
    customer = session.get(Customer, conversation.customer_id)
    can_see_orders = "orders.read" in actor.permissions
    can_see_customers = "customers.read" in actor.permissions
    claims = claims_of(session, actor.shop_id, customer.id) if can_see_customers else []
    orders = []
    if can_see_orders:
        orders = session.scalars(
            select(Order)
            .where(
                Order.shop_id == actor.shop_id,
                Order.customer_id == conversation.customer_id,
                *within_scope(actor, Order.assignee_id),
            )
            .order_by(Order.id.desc())
            .limit(PANEL_ORDERS)
        ).all()
    flow = workflow_for(session, actor.shop_id)  # once for the panel's orders
    return {
        # Plain values: the template is drawn after the session has closed.
        "conversation": {
            "id": conversation.id,
            "customer_id": conversation.customer_id,
            "assignee_id": conversation.assignee_id,
            "status": conversation.status,
            "merged_into_id": conversation.merged_into_id,
            "merged_ids": chat.merged_ids(session, actor.shop_id, [conversation.id])[conversation.id],
        },
        "customer": customers.customer_summary(rt.keyring, customer) if can_see_customers else None,
        # Whom a device here says it is, by a phone it typed: staff link it with one click.
        "claims": [c.out(rt.keyring) for c in claims],
        "can_link": "customers.write" in actor.permissions,
        "customer_name": customer.name,
        "assignee_name": _assignee_name(session, conversation),
        "can_see_orders": can_see_orders,
        "orders": [_order_view(o, flow) for o in orders],
        "staff": staff_of(session, actor.shop_id),
        "can_chat": "chat.write" in actor.permissions,
        "can_order": "orders.write" in actor.permissions,
        "couriers": list(COURIERS.values()),
        "cancel_reasons": CANCEL_REASONS,
    }


def _referenced_orders(session, shop_id: int, messages: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The live state of orders the shown messages mention, so a card shows today's status."""
    ids = {m["data"].get("order_id") for m in messages} - {None}
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    rows = session.scalars(select(Order).where(Order.shop_id == shop_id, Order.id.in_(ids)))
    return {o.id: order_card_state(o) for o in rows}


def _boot(session, keyring, actor: Actor, conversation: Conversation, which: str) -> dict[str, Any]:
    """What inbox.js starts from. The event seq is read before the messages: anything that lands
    in between is both drawn and replayed, and the page drops the duplicate by message id. Cards
    are opened as the socket sends them (the address as the customer's device shows it)."""
    last_seq = head_seq(session, actor.shop_id)
    history = chat.messages_of(session, conversation, None, None, HISTORY)
    view = card_view(actor)
    shown = [opened_message(session, keyring, message_out(m), public=True, view=view) for m in history]
    orders = _referenced_orders(session, actor.shop_id, shown) if "orders.read" in actor.permissions else {}
    return {
        "conversation_id": conversation.id,
        "customer_id": conversation.customer_id,
        "staff_id": actor.staff_id,
        "timezone": actor.timezone,
        "filter": which,
        "event_seq": last_seq,
        "customer_read_seq": conversation.customer_read_seq,
        "staff_read_seq": conversation.staff_read_seq,
        "page_size": HISTORY,
        "messages": shown,
        "has_more": len(shown) == HISTORY,
        "orders": orders,
        "can_chat": "chat.write" in actor.permissions,
        "text": {key: gettext(msgid) for key, msgid in JS_TEXT.items()},
        "statuses": {s.value: gettext(label) for s, label in STATUS_LABELS.items()},
        "couriers": {c.code: c.name(current_locale.get()) for c in COURIERS.values()},
    }


@router.get("/inbox/rows/{conversation_id}")
def inbox_row(
    conversation_id: PathId,
    request: Request,
    which: str = Query("all", alias="filter", max_length=20),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """One row as it is now (for live updates); 204 when it does not belong under the tab."""
    which = _which(which)
    with rt.db.read() as session:
        c = chat.access_conversation(session, actor, conversation_id)
        if not _in_filter(session, actor, c, which):
            return Response(status_code=204)
        name = session.get(Customer, c.customer_id).name
        names = dict(staff_of(session, actor.shop_id, active_only=False))
        claimed = c.customer_id in _claiming(session, actor, [c.customer_id])
        row = _row(c, name, last_messages(session, [c]).get(c.id), names, actor.staff_id, claimed)
    return render(request, "inbox/_row.html", r=row, which=which, current_id=None)


@router.get("/inbox")
def inbox_page(
    request: Request,
    which: str = Query("all", alias="filter", max_length=20),
    cursor: str | None = Query(None, max_length=300),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    which = _which(which)
    with rt.db.read() as session:
        context = _list_context(session, actor, which, cursor)
    if is_htmx(request) and cursor:
        return render(request, "inbox/_rows.html", current_id=None, **context)
    return render(request, "inbox/page.html", section="inbox", current_id=None, **context)


@router.get("/inbox/{conversation_id}/panel")
def inbox_panel(
    conversation_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        conversation = chat.access_conversation(session, actor, conversation_id)
        context = panel_context(session, rt, actor, conversation)
    return render(request, "inbox/_panel.html", **context)


@router.get("/inbox/{conversation_id}")
def chat_page(
    conversation_id: PathId,
    request: Request,
    which: str = Query("all", alias="filter", max_length=20),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    which = _which(which)
    with rt.db.read() as session:
        conversation = chat.access_conversation(session, actor, conversation_id)
        boot = _boot(session, rt.keyring, actor, conversation, which)
        context = _list_context(session, actor, which, None)
        context.update(panel_context(session, rt, actor, conversation))
    return render(
        request,
        "inbox/page.html",
        section="inbox",
        current_id=conversation_id,
        boot=script_json(boot),
        **context,
    )
