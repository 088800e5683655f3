"""The chat on the order page: the dispute checkpoints (done, each linked to its message, or a button
to send it) and the last messages of the order's conversation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.chat import checkpoints, drafts, service
from shangliao.chat.cards import card_view
from shangliao.chat.transcript import line_of
from shangliao.core.crypto import Keyring
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers.models import Customer
from shangliao.orders.models import Order
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.order_pages import staff_of
from shangliao.web.render import env, is_htmx

router = APIRouter(include_in_schema=False)

# How much of the conversation the order page shows; the inbox has the rest.
CHAT_MESSAGES = 10


def order_chat_context(session: Session, keyring: Keyring, actor: Actor, order: Order) -> dict[str, Any]:
    """What the order page's checkpoints and chat panels show (the chat only to who may read it)."""
    conversation_id = checkpoints.conversation_id_of(session, order)
    can_read_chat = "chat.read" in actor.permissions
    return {
        "checkpoints": checkpoints.checkpoints_of(session, actor, order),
        "can_send_checkpoints": "chat.write" in actor.permissions and order.archived_at is None,
        # 发送物流信息到聊天 on the parcels box: only into a conversation the member may open.
        "can_send_tracking": "chat.write" in actor.permissions
        and conversation_id is not None
        and checkpoints.may_send(session, actor, order, "tracking", conversation_id),
        "chat": _chat(session, keyring, actor, order, conversation_id)
        if can_read_chat and conversation_id
        else None,
        "can_read_chat": can_read_chat,
        "chat_source": drafts.source_of(session, actor, order) if can_read_chat else None,
    }


def _chat(
    session: Session, keyring: Keyring, actor: Actor, order: Order, conversation_id: int
) -> dict[str, Any] | None:
    try:
        conversation = service.access_conversation(session, actor, conversation_id)
    except NotFound:  # the order is the member's, its conversation someone else's: not shown
        return None
    customer_name = session.scalar(select(Customer.name).where(Customer.id == conversation.customer_id))
    staff_names = dict(staff_of(session, order.shop_id, active_only=False))
    messages = service.messages_of(session, conversation, None, None, CHAT_MESSAGES)
    return {
        "conversation_id": conversation.id,
        "linked": order.conversation_id == conversation.id,
        "messages": [
            line_of(session, keyring, m, customer_name or "", staff_names, card_view(actor)) for m in messages
        ],
    }


@router.post("/orders/{order_id}/checkpoints/{kind}")
def order_checkpoint_send(
    order_id: PathId,
    request: Request,
    kind: str = Path(max_length=16),
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """One click on the order page sends a checkpoint to the customer; the panels come back.
    Needs `orders.read` as well: the order (its address in the details) goes into the chat."""
    with rt.db.write() as session:
        order = access_order(session, actor, order_id)
        check_permission(actor, "orders.read")
        checkpoints.do_send_checkpoint(session, rt.keyring, actor, order, kind)
    if not is_htmx(request):
        return RedirectResponse(f"/orders/{order_id}", status_code=303)
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        context = order_chat_context(session, rt.keyring, actor, order)
    return HTMLResponse(panels(request, actor, order_id, context, message=N_("Sent to the customer.")))


def panels(request: Request, actor: Actor, order_id: int, context: dict[str, Any], *, message: str) -> str:
    """The checkpoints panel, and the chat panel swapped in beside it (htmx out-of-band)."""
    values = {"request": request, "actor": actor, "o": {"id": order_id}, **context}
    checkpoints_html = env.get_template("orders/_checkpoints.html").render(
        checkpoint_message=message, **values
    )
    chat_html = env.get_template("orders/_chat_panel.html").render(oob=True, **values)
    return checkpoints_html + chat_html
