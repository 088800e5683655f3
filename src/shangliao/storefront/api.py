"""The customer's side of chat over HTTP (``/s/{shop}/api/…``): introduce yourself once, then read
and write your conversation. The socket at ``/s/{shop}/ws`` carries the live part."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from shangliao.auth.access import AccessRule, check_same_origin, public
from shangliao.chat import rates, service
from shangliao.chat.cards import opened_message
from shangliao.chat.models import Conversation
from shangliao.chat.schemas import MAX_TEXT, ClientId, MessageOut
from shangliao.chat.views import message_out
from shangliao.core.errors import Unauthorized
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId, StrictModel
from shangliao.customers.pii import Mobile
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.service import access_shop_by_slug
from shangliao.storefront.visitors import (
    VISITOR_COOKIE,
    Guest,
    access_guest_message,
    do_register_visitor,
    guest_at,
)
from shangliao.web.client_address import client_address
from shangliao.web.errors import ERROR_RESPONSES


def shop_page_router() -> APIRouter:
    """A router of the shop page's JSON (``/s/{shop}/api/…``): every module of it answers alike."""
    return APIRouter(
        prefix="/s/{shop}/api",
        tags=["shop page"],
        responses=ERROR_RESPONSES,
    )


router = shop_page_router()

VISITOR_DAYS = 365
# Introductions per client address and shop: a family behind one router is far below it; a script
# making customers by the thousand is stopped.
INTRODUCTIONS = "30/hour"
# A customer's messages are counted by chat.rates, one count with their socket sends.
RECALLS = ("20/minute",)


class VisitorIn(StrictModel):
    name: str = Field(min_length=1, max_length=32)
    phone: Mobile


class VisitorOut(StrictModel):
    customer_id: int
    # Nothing says whether the phone was already a customer's: anyone could type any number to
    # find out. A device sees only what it says from now on until the phone is proved.
    conversation_id: int


class GuestMessageIn(StrictModel):
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    client_id: ClientId = None


def visitor():
    """A customer known by the visitor cookie of this shop; anyone else gets 401."""

    def require_visitor(request: Request, shop: str) -> Guest:
        rt: Runtime = request.app.state.runtime
        if request.method != "GET":
            check_same_origin(request)
        with rt.db.read() as session:
            guest = guest_at(session, shop, request.cookies.get(VISITOR_COOKIE))
        if guest is None:
            raise Unauthorized("chat.visitor_required", N_("Tell the shop your name and phone first."))
        return guest

    require_visitor.access = AccessRule("visitor")  # type: ignore[attr-defined]
    return require_visitor


@router.post("/visitor", response_model=VisitorOut, dependencies=[Depends(public())])
def introduce(
    shop: str, body: VisitorIn, request: Request, response: Response, rt: Runtime = Depends(get_runtime)
):
    """Start chatting: name and phone, once per device. Sets the visitor cookie for this shop."""
    check_same_origin(request)
    check_introduction_rate(rt, request, shop)
    with rt.db.write() as session:
        shop_id = access_shop_by_slug(session, shop).id
        raw, guest = do_register_visitor(session, rt.keyring, shop_id, body.name.strip(), body.phone)
    set_visitor_cookie(response, request, shop, raw)
    return {"customer_id": guest.customer_id, "conversation_id": guest.conversation_id}


def check_introduction_rate(rt: Runtime, request: Request, shop: str) -> None:
    """Count a new customer introducing themselves (here, or in the product page's order form)."""
    rt.limits.check(INTRODUCTIONS, "visitor", shop, client_address(request))


def check_customer_rate(rt: Runtime, guest: Guest, what: str, rules: tuple[str, ...]) -> None:
    """Count one ``what`` by this customer of this shop against every rule (429 when over one).
    Refused attempts count too, so checking comes before any work."""
    for rule in rules:
        rt.limits.check(rule, what, str(guest.shop_id), str(guest.customer_id))


def set_visitor_cookie(response: Response, request: Request, shop: str, raw: str) -> None:
    """The device's token for this shop only: HttpOnly (no script reads it), Lax, path /s/<shop>."""
    response.set_cookie(
        VISITOR_COOKIE,
        raw,
        max_age=VISITOR_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=f"/s/{shop}",
    )


@router.get("/messages", response_model=list[MessageOut])
def guest_messages(
    shop: str,
    after_seq: int | None = Query(None, ge=0, le=MAX_ID),
    before_seq: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(50, ge=1, le=200),
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
):
    """Your conversation with the shop, from when this device joined it."""
    with rt.db.read() as session:
        conversation = session.get(Conversation, guest.conversation_id)
        after = None if after_seq is None else max(after_seq, guest.since_seq)
        listed = service.messages_of(session, conversation, after, before_seq, limit)
        return [
            opened_message(session, rt.keyring, message_out(m), public=True)
            for m in listed
            if m.seq > guest.since_seq
        ]


@router.post("/messages", response_model=MessageOut, status_code=201)
def guest_send(
    shop: str, body: GuestMessageIn, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """Write to the shop. With `client_id`, a retried send is not sent twice."""
    rates.check_rate(rt.limits, "send", guest.shop_id, "customer", guest.customer_id)
    with rt.db.write() as session:
        sent = service.do_send(
            session,
            rt.keyring,
            guest.shop_id,
            guest.conversation_id,
            sender_type="customer",
            sender_id=guest.customer_id,
            kind="text",
            body=body.body,
            client_id=body.client_id,
        )
        return message_out(sent, replayed=sent.replayed)


@router.post("/messages/{message_id}/recall", response_model=MessageOut)
def guest_recall(
    shop: str,
    message_id: PathId,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Take back one of your messages within two minutes: the shop no longer sees it (it stays
    stored as evidence). Only what this device can see: not what was said before it joined."""
    check_customer_rate(rt, guest, "recall", RECALLS)
    with rt.db.write() as session:
        access_guest_message(session, guest, message_id)
        recalled = service.do_recall(
            session,
            rt.keyring,
            guest.shop_id,
            guest.conversation_id,
            message_id,
            by_type="customer",
            by_id=guest.customer_id,
        )
        return message_out(recalled)
