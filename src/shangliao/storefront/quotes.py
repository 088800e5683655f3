"""A quote card accepted by the customer: the lines the shop quoted (at the quoted prices) become
their pending order, to the address they give, once per card.

The card is a message in the customer's own conversation, sent by the shop, seen by this device
(after its ``since_seq``) and not recalled; anything else is "no such quote". Its lines are taken
from the message as it was sent (the customer's request names only the card), so nobody can order
at a price the shop did not quote. Each card makes one order: the key ``quote-<message id>`` in the
customer's idempotency scope finds it again, and the page then shows that order instead of the form.
A quote holds its prices for ``VALID_FOR``; after that the page asks the customer for a new one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.addresses.book import do_remember_address
from shangliao.auth.actor import Actor
from shangliao.chat.models import Message
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import RowRef, StrictModel
from shangliao.customers.pii import Address
from shangliao.orders.create import find_by_idempotency_key
from shangliao.orders.models import Order
from shangliao.orders.schemas import ItemIn, OrderCreate
from shangliao.storefront.orders import do_order_from_link, idempotency_scope
from shangliao.storefront.visitors import Guest

# How long a quote holds its prices: a shop's price list moves, and an old card accepted months
# later at its old prices is not what either side expects.
VALID_FOR = timedelta(days=30)


class QuoteOrderIn(StrictModel):
    """The address (typed, or a saved one by id) and a remark; the lines are the card's."""

    address: Address | None = None
    address_id: RowRef | None = None
    remark: str = Field("", max_length=500)


def access_quote(session: Session, guest: Guest, message_id: int) -> Message:
    """A quote card the shop sent this device's customer, that this device may see."""
    message = session.scalar(
        select(Message).where(
            Message.id == message_id,
            Message.shop_id == guest.shop_id,
            Message.conversation_id == guest.conversation_id,
            Message.kind == "quote_card",
            Message.sender_type == "staff",
            Message.seq > guest.since_seq,
            Message.recalled_at.is_(None),
        )
    )
    if message is None:
        raise NotFound("quote.not_found", N_("No such quote."))
    return message


def _key(message: Message) -> str:
    return f"quote-{message.id}"


def accepted_order(session: Session, guest: Guest, message: Message) -> Order | None:
    """The order this card became, if the customer accepted it already."""
    return find_by_idempotency_key(session, guest.shop_id, idempotency_scope(guest, _key(message)))


def valid_until(message: Message):
    return message.created_at + VALID_FOR


def public_quote(message: Message) -> dict[str, Any]:
    keep = ("name", "spec", "quantity", "unit_price", "amount")
    items = [{k: line.get(k) for k in keep} for line in message.data.get("items", [])]
    until = valid_until(message)
    return {
        "id": message.id,
        "items": items,
        "total": message.data.get("total", 0),
        "note": message.body,
        "valid_until": until,
        "expired": clock.now() >= until,
    }


def do_accept_quote(
    session: Session, keyring: Keyring, guest: Guest, timezone: str, message_id: int, body: QuoteOrderIn
) -> tuple[Order, bool]:
    """The card's pending order (stock held, its card posted in the chat), and whether it was
    placed before (a second tap, another device of the customer's)."""
    message = access_quote(session, guest, message_id)
    earlier = accepted_order(session, guest, message)
    if earlier is not None:
        return earlier, True
    if clock.now() >= valid_until(message):
        raise Conflict("quote.expired", N_("This quote has expired: ask the shop for a new one."))
    if (body.address is None) == (body.address_id is None):
        raise Invalid(
            "order.address_required", N_("An order needs a delivery address."), details={"field": "address"}
        )
    lines = message.data.get("items", [])
    order_body = OrderCreate(
        customer_id=guest.customer_id,
        address=body.address,
        address_id=body.address_id,
        items=[
            ItemIn(variant_id=line["variant_id"], quantity=line["quantity"], unit_price=line["unit_price"])
            for line in lines
        ],
        remark=body.remark,
        channel="quote",
    )
    order = do_order_from_link(
        session,
        keyring,
        guest,
        timezone,
        order_body,
        names={line["variant_id"]: line["name"] for line in lines},
        idempotency_key=_key(message),
    )
    if body.address is not None:  # offered again on their next order, like a product link's
        customer = Actor.customer(guest.shop_id, guest.customer_id, timezone)
        do_remember_address(session, keyring, customer, guest.customer_id, body.address)
    return order, False
