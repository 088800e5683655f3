"""HTTP routes for orders handled from the chat: a customer's message read as a draft, the order made
from a conversation, and an order's dispute checkpoints."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.chat import checkpoints, drafts, service
from shangliao.chat.cards import card_view, opened_message
from shangliao.chat.schemas import MessageOut
from shangliao.chat.views import message_out
from shangliao.core.schemas import PathId
from shangliao.customers.masking import view_for
from shangliao.orders.schemas import OrderOut
from shangliao.orders.timeline import access_order
from shangliao.orders.views import created_order_dict
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.responses import JSONResponse

router = APIRouter(tags=["chat"])


class SuggestedItem(BaseModel):
    product_id: int
    variant_id: int | None = Field(description="None when the words do not pick one of several variants.")
    name: str
    spec: str
    quantity: int
    unit_price: int | None = Field(description="The catalog price in fen (None without a variant).")
    text: str = Field(description="The part of the message the item was read from.")


class SuggestionOut(BaseModel):
    is_order: bool
    items: list[SuggestedItem]
    unmatched: list[str] = Field(description="Pieces of the message that look ordered but match no product.")


class CheckpointOut(BaseModel):
    kind: str
    label: str
    done: bool
    due: bool = Field(description="Expected by now, given the order's status.")
    message_id: int | None = Field(
        description="None when not sent, or its conversation is out of the caller's scope."
    )
    seq: int | None
    at: datetime | None
    conversation_id: int | None = Field(
        description="None when the conversation is out of the caller's scope."
    )
    can_send: bool = Field(description="`POST …/checkpoints/{kind}` would send it now.")


class CheckpointsOut(BaseModel):
    items: list[CheckpointOut]


@router.get("/conversations/{conversation_id}/messages/{message_id}/suggestion", response_model=SuggestionOut)
def message_suggestion(
    conversation_id: PathId,
    message_id: PathId,
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """A customer's text read as an order: the catalog items it names (variant and price when the
    words pick one) and the pieces left for staff. Any other message is `is_order: false`."""
    with rt.db.read() as session:
        conversation = service.access_conversation(session, actor, conversation_id)
        message = drafts.access_message(session, conversation, message_id)
        return drafts.suggest(session, actor.shop_id, message).as_dict()


@router.post("/conversations/{conversation_id}/orders", response_model=OrderOut, status_code=201)
def order_from_chat(
    conversation_id: PathId,
    body: drafts.ChatOrderIn,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Make an order for the conversation's customer (channel `chat`, linked to the conversation):
    a draft by default; `draft: false` places it (their default address unless one is given).
    Needs `orders.write` as well."""
    with rt.db.write() as session:
        conversation = service.access_conversation(session, actor, conversation_id)
        check_permission(actor, "orders.write")
        created = drafts.do_order_from_chat(session, rt.keyring, actor, conversation, body)
        return JSONResponse(created_order_dict(created, view_for(actor)), status_code=201)


@router.get("/orders/{order_id}/checkpoints", response_model=CheckpointsOut)
def order_checkpoints(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    """The order's dispute checkpoints in order (details, photos, tracking, inspect): which were
    sent, each with its message, and which are due."""
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        return {"items": checkpoints.checkpoints_of(session, actor, order)}


@router.post("/orders/{order_id}/checkpoints/{kind}", response_model=MessageOut, status_code=201)
def send_checkpoint(
    order_id: PathId,
    kind: str = Path(max_length=16, description="`details`, `tracking` or `inspect`."),
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Send a checkpoint to the order's customer in their conversation (opened and linked to the
    order if it has none yet). Sending one again is allowed; the earliest counts. Needs
    `orders.read` as well: it copies the order (the details, its address) into the chat."""
    with rt.db.write() as session:
        order = access_order(session, actor, order_id)
        check_permission(actor, "orders.read")
        sent = checkpoints.do_send_checkpoint(session, rt.keyring, actor, order, kind)
        opened = opened_message(
            session, rt.keyring, message_out(sent), view=view_for(actor), shown_view=card_view(actor)
        )
        return JSONResponse(opened, status_code=201)
