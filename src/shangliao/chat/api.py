"""HTTP routes of the staff side of chat: the inbox, a conversation's messages, sending, recall,
read receipts, assignment. (Sockets and the customer side have routes of their own.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from shangliao.assignment.conversations import claim_opened_conversation, do_assign_conversation
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat import card_photos, cards, service
from shangliao.chat.inbox import inbox
from shangliao.chat.models import Conversation, Message
from shangliao.chat.schemas import (
    ConversationAssignIn,
    ConversationOut,
    ConversationPage,
    ConversationStatusIn,
    InboxFilter,
    LinkClaimIn,
    MessageIn,
    MessageOut,
    ReadIn,
)
from shangliao.chat.views import message_out
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId
from shangliao.customers.masking import view_for
from shangliao.customers.models import Customer
from shangliao.runtime import Runtime, get_runtime
from shangliao.storefront import claims

router = APIRouter(tags=["chat"])

PAGE = 50


def conversation_out(
    c: Conversation, customer_name: str, last: Message | None, merged: list[int] | None = None
) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "customer_name": customer_name,
        "assignee_id": c.assignee_id,
        "status": c.status,
        "message_count": c.message_count,
        "last_message_at": c.last_message_at,
        "staff_unread": c.staff_unread,
        "customer_unread": c.customer_unread,
        "staff_read_seq": c.staff_read_seq,
        "customer_read_seq": c.customer_read_seq,
        "last_message": message_out(last) if last is not None else None,
        "merged_into_id": c.merged_into_id,
        "merged_ids": merged or [],
    }


def _customer_name(session, conversation: Conversation) -> str:
    return session.get(Customer, conversation.customer_id).name


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    which: InboxFilter = Query(
        "all",
        alias="filter",
        description="`mine`, `unassigned`, `all`, `open_orders` (open conversations), `closed`.",
    ),
    cursor: str | None = Query(None, max_length=300),
    limit: int = Query(20, ge=1, le=100),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The inbox: conversations with unread customer messages first, then the most recent."""
    with rt.db.read() as session:
        page, next_cursor = inbox(session, actor, which, cursor, limit)
        merged = service.merged_ids(session, actor.shop_id, [c.id for c, *_ in page])
        items = [conversation_out(c, name, last, merged[c.id]) for c, name, last in page]
        return {"items": items, "next_cursor": next_cursor}


@router.post("/customers/{customer_id}/conversation", response_model=ConversationOut)
def open_conversation(
    customer_id: PathId, actor: Actor = Depends(staff("chat.write")), rt: Runtime = Depends(get_runtime)
):
    """The customer's conversation with the shop (made on first use): to write to them first.
    One assigned to someone else is not found for a member who sees only their own."""
    with rt.db.write() as session:
        conversation = service.do_open_conversation(session, actor.shop_id, customer_id)
        claim_opened_conversation(session, actor, conversation)
        if not actor.may_see_assignee(conversation.assignee_id):
            raise NotFound("chat.conversation_not_found", N_("This conversation does not exist."))
        return conversation_out(conversation, _customer_name(session, conversation), None)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: PathId, actor: Actor = Depends(staff("chat.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        conversation = service.access_conversation(session, actor, conversation_id)
        merged = service.merged_ids(session, actor.shop_id, [conversation.id])[conversation.id]
        out = conversation_out(conversation, _customer_name(session, conversation), None, merged)
        if "customers.read" not in actor.permissions:  # another customer's name and number
            return out
        found = claims.claims_of(session, actor.shop_id, conversation.customer_id)
        return out | {"claims": [c.out(rt.keyring) for c in found]}


@router.post("/conversations/{conversation_id}/link-claimed", response_model=ConversationOut)
def link_claimed(
    conversation_id: PathId,
    body: LinkClaimIn | None = None,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """The customer here is who their device says: merge them into that customer (as a customer
    merge does; the permission is the merge's). The answer is the conversation that lives on."""
    with rt.db.write() as session:
        conversation = claims.lock_conversation(session, actor, conversation_id)
        customer_id = conversation.customer_id
        claim = claims.pick_claim(session, actor.shop_id, customer_id, body.customer_id if body else None)
        kept = claims.do_link_claim(session, rt.keyring, actor, customer_id, claim, how="staff")
        merged = service.merged_ids(session, actor.shop_id, [kept.id])[kept.id]
        return conversation_out(kept, _customer_name(session, kept), None, merged)


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessageOut])
def list_messages(
    conversation_id: PathId,
    after_seq: int | None = Query(
        None, ge=0, le=MAX_ID, description="Only messages after this seq, oldest first."
    ),
    before_seq: int | None = Query(
        None, ge=1, le=MAX_ID, description="The page before this seq, oldest first."
    ),
    limit: int = Query(PAGE, ge=1, le=200),
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """A conversation's messages in order: the newest page by default, `before_seq` to scroll
    back, `after_seq` to catch up. Recall entries are not listed; the recalled message is, empty."""
    with rt.db.read() as session:
        conversation = service.access_conversation(session, actor, conversation_id)
        return [
            cards.opened_message(
                session, rt.keyring, message_out(m), view=view_for(actor), shown_view=cards.card_view(actor)
            )
            for m in service.messages_of(session, conversation, after_seq, before_seq, limit)
        ]


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201)
def send_message(
    conversation_id: PathId,
    body: MessageIn,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Send a text or a card (product, order, payment request, quote) to the customer. With
    `client_id`, a retried send returns the first one (with `replayed: true`) instead of sending twice."""
    with card_photos.discarded_on_failure() as kept, rt.db.write() as session:
        conversation = service.access_conversation(session, actor, conversation_id)
        data = cards.card_data(session, actor, conversation, body)
        photo = None
        if body.kind == "product_card":  # its photo is kept with the conversation, as evidence
            photo = card_photos.keep_cover(
                session, rt.settings.uploads_dir, conversation, data, sender_id=actor.staff_id
            )
            kept += [photo] if photo else []
        sent = service.do_send(
            session,
            rt.keyring,
            actor.shop_id,
            conversation_id,
            sender_type="staff",
            sender_id=actor.staff_id,
            kind=body.kind,
            body=body.body,
            data=data,
            client_id=body.client_id,
        )
        if photo is not None:
            photo.sent(session, sent)
        return cards.opened_message(
            session,
            rt.keyring,
            message_out(sent, replayed=sent.replayed),
            view=view_for(actor),
            shown_view=cards.card_view(actor),
        )


@router.post("/conversations/{conversation_id}/messages/{message_id}/recall", response_model=MessageOut)
def recall_message(
    conversation_id: PathId,
    message_id: PathId,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Take back a message the shop sent, within two minutes. It stays stored as evidence."""
    with rt.db.write() as session:
        service.access_conversation(session, actor, conversation_id)
        recalled = service.do_recall(
            session,
            rt.keyring,
            actor.shop_id,
            conversation_id,
            message_id,
            by_type="staff",
            by_id=actor.staff_id,
        )
        return message_out(recalled)


@router.post("/conversations/{conversation_id}/read", response_model=ConversationOut)
def mark_read(
    conversation_id: PathId,
    body: ReadIn,
    actor: Actor = Depends(staff("chat.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The shop has read the conversation up to `seq` (the customer sees the read receipt)."""
    with rt.db.write() as session:
        service.access_conversation(session, actor, conversation_id)
        conversation = service.do_mark_read(
            session, actor.shop_id, conversation_id, side="staff", seq=body.seq
        )
        return conversation_out(conversation, _customer_name(session, conversation), None)


@router.put("/conversations/{conversation_id}/assignee", response_model=ConversationOut)
def assign_conversation(
    conversation_id: PathId,
    body: ConversationAssignIn,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Give the conversation to a staff member (`null`: nobody). Giving it to someone else, or
    taking it from someone else, needs `orders.assign`; claiming an unassigned one for yourself
    (or releasing your own) does not. The assignee's role must hold `chat.read`."""
    with rt.db.write() as session:
        conversation = do_assign_conversation(session, actor, conversation_id, body.assignee_id)
        return conversation_out(conversation, _customer_name(session, conversation), None)


@router.put("/conversations/{conversation_id}/status", response_model=ConversationOut)
def set_conversation_status(
    conversation_id: PathId,
    body: ConversationStatusIn,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Close a conversation that needs nothing more, or reopen it. A new message reopens it."""
    with rt.db.write() as session:
        conversation = service.do_set_status(session, actor, conversation_id, body.status)
        return conversation_out(conversation, _customer_name(session, conversation), None)
