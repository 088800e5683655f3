"""The customer's orders over HTTP (``/s/{shop}/api/…``): products by share link, the catalog to pick
from, ordering from a product link, order requests in the chat, their orders and confirming receipt.

The rules of what a customer may see live in ``storefront.orders``; these routes open the unit of work,
resolve the visitor and answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from pydantic import Field
from sqlalchemy.exc import IntegrityError

from shangliao.auth.access import check_same_origin, public
from shangliao.catalog.service import cursor_id
from shangliao.chat.schemas import ClientId, MessageOut
from shangliao.chat.views import message_out
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId, RowRef, StrictModel
from shangliao.orders import idempotency
from shangliao.orders.schemas import ItemIn
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.shops.service import access_shop_by_slug
from shangliao.storefront import orders as go
from shangliao.storefront import quotes
from shangliao.storefront.api import (
    check_customer_rate,
    check_introduction_rate,
    set_visitor_cookie,
    shop_page_router,
    visitor,
)
from shangliao.storefront.quotes import QuoteOrderIn
from shangliao.storefront.visitors import VISITOR_COOKIE, Guest
from shangliao.web.client_address import client_address
from shangliao.web.responses import JSONResponse

router = shop_page_router()

# Orders from product links per client address and shop: more than a household orders in an hour,
# far fewer than a script holding a shop's stock hostage with fake orders would need.
ORDERS = "20/hour"
# Order requests per customer of a shop: each one drafts an order for staff to handle, so a few a
# minute is plenty for a person and a flood is cut off within the hour as well.
ORDER_REQUESTS = ("10/minute", "60/hour")
# Orders from quote cards per customer: each holds stock, and a person accepts a few quotes a day.
QUOTE_ORDERS = ("10/minute", "60/hour")
ShareToken = Annotated[str, Path(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
# The customer's key, kept apart from the shop's keys by a prefix (``storefront.orders.idempotency_scope``).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=80,
        pattern=r"^[\x21-\x7e]{1,80}$",
        description="Retry-safe ordering: the same key and body return the first order.",
    ),
]


class PickedItem(StrictModel):
    variant_id: RowRef
    quantity: int = Field(gt=0, le=999)


class OrderRequestIn(StrictModel):
    items: list[PickedItem] = Field(min_length=1, max_length=30)
    remark: str = Field("", max_length=500)
    client_id: ClientId = None


@router.get("/products/{token}", dependencies=[Depends(public())])
def product_by_token(shop: str, token: ShareToken, rt: Runtime = Depends(get_runtime)) -> Any:
    """The product behind a share link: anyone holding the link may see it."""
    with rt.db.read() as session:
        shop_id = access_shop_by_slug(session, shop).id
        return JSONResponse(go.public_product(go.access_product_by_token(session, shop_id, token)))


@router.get("/products")
def products(
    shop: str,
    q: str | None = Query(None, max_length=60),
    cursor: str | None = Query(None, max_length=200),
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """The shop's products on sale, to pick from in the chat (customers of the shop only)."""
    with rt.db.read() as session:
        page = go.list_public_products(session, guest.shop_id, (q or "").strip() or None, cursor_id(cursor))
        return JSONResponse(page)


def _timezone(session, shop_id: int) -> str:
    return session.get(Shop, shop_id).timezone


@router.post("/orders", status_code=201, responses=idempotency.replayed(), dependencies=[Depends(public())])
def order_from_link(
    shop: str,
    body: go.LinkOrderIn,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Order from a product link: a pending order, stock held, its card posted in the chat.

    A device the shop does not know yet introduces itself in the same form (name and phone) and
    gets its visitor cookie with the answer."""
    check_same_origin(request)
    rt.limits.check(ORDERS, "order", shop, client_address(request))
    try:
        with rt.db.write() as session:
            placed = go.do_order_from_link_as_visitor(
                session,
                rt.keyring,
                access_shop_by_slug(session, shop),
                request.cookies.get(VISITOR_COOKIE),
                body,
                idempotency_key,
                before_introducing=lambda: check_introduction_rate(rt, request, shop),
            )
            out = {
                "order": go.public_order(placed.order, rt.keyring),
                "customer_id": placed.guest.customer_id,
                "conversation_id": placed.guest.conversation_id,
            }
    except IntegrityError as exc:
        # Two requests with one key at the same moment: the other one placed it; a retry finds it.
        raise Conflict("order.conflict", N_("The order could not be saved; please try again.")) from exc
    headers = {"Idempotent-Replayed": "true"} if placed.replayed else None
    response = JSONResponse(out, status_code=200 if placed.replayed else 201, headers=headers)
    if placed.new_token is not None:
        set_visitor_cookie(response, request, shop, placed.new_token)
    return response


@router.post("/order-requests", response_model=MessageOut, status_code=201)
def order_request(
    shop: str, body: OrderRequestIn, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """Products picked in the chat: a draft order for the shop to complete, and the message asking
    for it. With `client_id`, a retried request makes nothing twice."""
    check_customer_rate(rt, guest, "order_request", ORDER_REQUESTS)
    items = [ItemIn(variant_id=i.variant_id, quantity=i.quantity) for i in body.items]
    with rt.db.write() as session:
        sent = go.do_request_order(
            session,
            rt.keyring,
            guest,
            _timezone(session, guest.shop_id),
            items,
            body.remark,
            body.client_id,
        )
        return JSONResponse(message_out(sent, replayed=sent.replayed), status_code=201)


@router.get("/orders")
def my_orders(
    shop: str,
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Your orders with the shop, newest first (``next_before_id`` pages on)."""
    with rt.db.read() as session:
        rows, more = go.guest_orders(session, guest, before_id)
        return JSONResponse({"items": [go.public_order(o, rt.keyring) for o in rows], "next_before_id": more})


@router.get("/orders/{order_id}")
def my_order(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """One of your orders, with the public part of its timeline."""
    with rt.db.read() as session:
        order = go.access_guest_order(session, guest, order_id)
        return JSONResponse(
            go.public_order(order, rt.keyring) | {"timeline": go.public_timeline(session, order)}
        )


@router.post("/orders/{order_id}/receipt")
def confirm_receipt(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """The parcel arrived: a shipped order becomes completed, on the timeline as yours."""
    with rt.db.write() as session:
        order = go.do_confirm_receipt(session, guest, _timezone(session, guest.shop_id), order_id)
        session.flush()
        return JSONResponse(
            go.public_order(order, rt.keyring) | {"timeline": go.public_timeline(session, order)}
        )


@router.post("/quotes/{message_id}/order", status_code=201)
def accept_quote(
    shop: str,
    message_id: PathId,
    body: QuoteOrderIn,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Accept a quote card the shop sent you: its lines at the quoted prices become your pending
    order (stock held) to the address given. Once per card: accepting it again answers 200 with the
    order it made."""
    check_customer_rate(rt, guest, "quote_order", QUOTE_ORDERS)
    try:
        with rt.db.write() as session:
            order, replayed = quotes.do_accept_quote(
                session, rt.keyring, guest, _timezone(session, guest.shop_id), message_id, body
            )
            out = {"order": go.public_order(order, rt.keyring)}
    except IntegrityError as exc:  # two taps at once: the other one placed it; a retry finds it
        raise Conflict("order.conflict", N_("The order could not be saved; please try again.")) from exc
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(out, status_code=200 if replayed else 201, headers=headers)
