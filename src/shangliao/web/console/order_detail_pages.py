"""One order: what was bought, where it goes, what happened, and the buttons that may come next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm.exc import StaleDataError

from shangliao.addresses import divisions
from shangliao.addresses.book import address_choices
from shangliao.auth.access import staff, staff_acting
from shangliao.auth.actor import Actor
from shangliao.chat.drafts import draft_warnings
from shangliao.chat.service import may_open_conversation
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers.masking import form_address, may_reveal, order_view
from shangliao.invoices.views import invoice_context
from shangliao.orders import actions
from shangliao.orders.archive import do_restore
from shangliao.orders.cancel_reasons import CANCEL_REASONS, reason_text
from shangliao.orders.couriers import COURIERS
from shangliao.orders.edits import ITEMS_EDITABLE
from shangliao.orders.state import (
    BEFORE_SHIPPING,
    TRANSITION_PERMISSIONS,
    TRANSITIONS,
    Status,
)
from shangliao.orders.tag_palette import colors_of
from shangliao.orders.timeline import EVENT_LABELS, access_order, events_of, notes_of, worded
from shangliao.orders.views import event_dict, order_dict
from shangliao.orders.workflow import paid_in_full, workflow_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping import parcels
from shangliao.web.console.address_form import fields_for
from shangliao.web.console.forms import whole_number
from shangliao.web.console.order_chat_pages import order_chat_context
from shangliao.web.console.order_pages import PAYMENT_STATUSES, staff_of
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

# The buttons, in lifecycle order; the page shows only those the order allows right now.
ACTION_BUTTONS = (
    ("submit", N_("Submit")),
    ("confirm", N_("Confirm")),
    ("prepare", N_("Start preparing")),
    ("ship", N_("Ship")),
    ("complete", N_("Mark completed")),
    ("cancel", N_("Cancel order")),
)
CONTINUE_SHIPPING = N_("Continue shipping")


def _detail_context(session, rt: Runtime, actor: Actor, order_id: int) -> dict:
    order = access_order(session, actor, order_id)
    staff_names = dict(staff_of(session, actor.shop_id))
    authors = dict(staff_of(session, actor.shop_id, active_only=False))
    pii = order_view(actor, order.status)
    view = order_dict(order, rt.keyring, pii)
    status = Status(order.status)
    open_order = order.archived_at is None
    # Edits are shown only to a member whose role may make them (the routes refuse the others).
    writes = open_order and "orders.write" in actor.permissions
    return {
        # Which edits the order still allows; the services check again and explain a refusal.
        "can_edit_address": writes and status in BEFORE_SHIPPING,
        "can_edit_items": writes and status in ITEMS_EDITABLE,
        "can_change_price": writes and status in BEFORE_SHIPPING and order.paid_amount == 0,
        "provinces": divisions.provinces(),
        "address": fields_for(form_address(pii, view["address"])),
        # 显示 (static/console/reveal.js) where the page shows a mask the reader may lift.
        "can_reveal": may_reveal(actor) and not pii.full,
        # The addresses the customer gave already, offered in the address dialog (radio cards); the
        # one read from their chat only to staff who may read that chat (a member's order may be
        # in a colleague's conversation: rule 21); saved ones masked go by id.
        "address_choices": address_choices(
            session,
            rt.keyring,
            actor.shop_id,
            order.customer_id,
            order.conversation_id if _reads_chat(session, actor, order.conversation_id) else None,
            pii,
        )
        if open_order and status in BEFORE_SHIPPING
        else [],
        "o": view,
        "aftersales_open": order.aftersales_open,  # 售后处理中 beside the status; archiving waits
        # Said before 提交订单 is pressed: a line off sale, short of stock, or presale.
        "draft_warnings": draft_warnings(session, order),
        "events": [
            worded(event_dict(e, rt.keyring, pii), e.created_at, authors, order.customer_name)
            for e in events_of(session, order)
        ],
        "cancel_text": reason_text(order.cancel_reason, order.cancel_note),
        "unpaid": order.total - order.paid_amount,
        "notes": [
            {"body": n.body, "author": authors.get(n.author_id, ""), "at": n.created_at}
            for n in notes_of(session, order)
        ],
        "created_at": order.created_at,
        "buttons": _buttons(actor, view["allowed_actions"], order.parcels_shipped),
        "couriers": list(COURIERS.values()),
        "cancel_reasons": CANCEL_REASONS,
        "event_labels": EVENT_LABELS,
        "staff": list(staff_names.items()),
        "staff_names": staff_names,
        "authors": authors,
        "payment_labels": dict(PAYMENT_STATUSES),
        # 先款后货: say why there is no 确认 button yet.
        "waits_for_payment": "confirm"
        in workflow_for(session, order.shop_id).closed(paid_in_full=paid_in_full(order))
        and status == Status.PENDING,
        "tag_colors": colors_of(session, actor.shop_id),  # chips in the palette's colours; names offered
        "shipment": parcels.shipment_view(session, order),  # orders/_parcels.html, the ship dialog
        **order_chat_context(session, rt.keyring, actor, order),
        **invoice_context(session, rt.keyring, actor, order),
    }


def _buttons(actor: Actor, allowed: list[str], parcels_shipped: int | None) -> list[tuple[str, str]]:
    """The lifecycle buttons the member may press now. Once a parcel has left, preparing is behind
    the order (no 开始备货) and shipping goes on with the rest (继续发货)."""
    out = []
    for action, label in ACTION_BUTTONS:
        if action not in allowed or TRANSITION_PERMISSIONS.get(action) not in actor.permissions:
            continue
        if parcels_shipped and action == "prepare":
            continue
        out.append((action, CONTINUE_SHIPPING if parcels_shipped and action == "ship" else label))
    return out


def _reads_chat(session, actor: Actor, conversation_id: int | None) -> bool:
    return (
        conversation_id is not None
        and "chat.read" in actor.permissions
        and may_open_conversation(session, actor, conversation_id)
    )


def _show(request: Request, rt: Runtime, actor: Actor, order_id: int, *, message: str | None = None):
    with rt.db.read() as session:
        context = _detail_context(session, rt, actor, order_id)
    template = "orders/_detail.html" if is_htmx(request) else "orders/detail.html"
    return render(request, template, section="orders", message=message, **context)


@router.get("/orders/{order_id}")
def order_page(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    return _show(request, rt, actor, order_id)


def change_order(request: Request, rt: Runtime, actor: Actor, order_id: int, change, done: str):
    """Apply ``change(session, order)`` and show the order again; plain forms get a redirect."""
    try:
        with rt.db.write() as session:
            order = access_order(session, actor, order_id, lock=True)
            change(session, order)
    except StaleDataError as exc:
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        ) from exc
    if not is_htmx(request):
        return RedirectResponse(f"/orders/{order_id}", status_code=303)
    return _show(request, rt, actor, order_id, message=done)


@router.post("/orders/{order_id}/do/{action}")
def order_action(
    order_id: PathId,
    action: str,
    request: Request,
    version: Annotated[int, Form(ge=1)],
    carrier_code: Annotated[str, Form(max_length=16)] = "",
    tracking_number: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    other_reason: Annotated[str, Form(max_length=200)] = "",
    ship_unpaid: Annotated[str, Form(max_length=1)] = "",
    actor: Actor = Depends(staff_acting(TRANSITION_PERMISSIONS)),
    rt: Runtime = Depends(get_runtime),
):
    """A lifecycle step; the access rule checks the step's own permission before anything opens."""
    if action not in TRANSITIONS:
        raise Invalid("console.unknown_action", N_("Unknown action."))
    params = {}
    if action == "ship":
        params = {"carrier_code": carrier_code.strip(), "tracking_number": tracking_number.strip()}
    elif action == "cancel":
        # A reason code from the dialog's list, with the words typed for "other".
        params = {"reason": reason.strip(), "reason_note": other_reason.strip()}
    params = {k: v for k, v in params.items() if v}

    def step(s, o):
        if action == "ship" and ship_unpaid != "1":
            _check_paid_before_shipping(o)
        return actions.do_transition(s, actor, o, action, params, version=version)

    return change_order(request, rt, actor, order_id, step, done=N_("Saved."))


def _check_paid_before_shipping(order) -> None:
    """The console asks once before shipping an order not marked paid (the ship dialog's tick);
    the API ships it as asked, for shops that are paid on delivery or elsewhere."""
    if order.paid_amount < order.total:
        raise Conflict(
            "console.ship_unpaid",
            N_("This order is not marked paid. Tick “Ship it without payment” to ship it anyway."),
        )


@router.post("/orders/{order_id}/notes")
def order_note(
    order_id: PathId,
    request: Request,
    body: Annotated[str, Form(min_length=1, max_length=2000)],
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    text = body.strip()
    if not text:
        raise Invalid("order.empty_note", N_("Write something in the note first."))
    return change_order(
        request,
        rt,
        actor,
        order_id,
        lambda s, o: actions.do_add_note(s, actor, o, text),
        done=N_("Note added."),
    )


@router.post("/orders/{order_id}/archive-now")
def order_archive(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.archive")),
    rt: Runtime = Depends(get_runtime),
):
    return change_order(
        request, rt, actor, order_id, lambda s, o: actions.do_archive(s, actor, o), done=N_("Archived.")
    )


@router.post("/orders/{order_id}/restore")
def order_restore(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.archive")),
    rt: Runtime = Depends(get_runtime),
):
    return change_order(
        request, rt, actor, order_id, lambda s, o: do_restore(s, actor, o), done=N_("Restored.")
    )


@router.post("/orders/{order_id}/assign")
def order_assign(
    order_id: PathId,
    request: Request,
    assignee_id: Annotated[str, Form(max_length=20)] = "",
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Give the order to a team member (or to nobody); they will see it under "mine"."""
    assignee = whole_number(assignee_id)
    return change_order(
        request, rt, actor, order_id, lambda s, o: actions.do_assign(s, actor, o, assignee), done=N_("Saved.")
    )


@router.post("/orders/{order_id}/tags")
def order_tags(
    order_id: PathId,
    request: Request,
    add: Annotated[str, Form(max_length=32)] = "",
    remove: Annotated[str, Form(max_length=32)] = "",
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    added, removed = [t for t in [add.strip()] if t], [t for t in [remove.strip()] if t]
    if not added and not removed:
        raise Invalid("console.empty_tag", N_("Write the tag first."))
    return change_order(
        request,
        rt,
        actor,
        order_id,
        lambda s, o: actions.do_tag(s, actor, o, added, removed),
        done=N_("Saved."),
    )
