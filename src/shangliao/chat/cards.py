"""What a card message carries: a snapshot of the product or order when it was sent.

The snapshot is evidence ("this is the price you were shown"); the live state of an order card
(status, tracking) comes to the page from the order's own events.

A card of the order details for the customer to check carries the delivery address. Message data
is stored as sent (and hashed into the chain), so the address goes in sealed (rule 12 of
docs/architecture.md), under the conversation's data key (``chat/card_keys.py``): a rotation
re-wraps that key and an erasure forgets it, neither touching the message. ``open_card`` opens it
only for whoever may read the conversation, when rendering; once erased it reads
:data:`ERASED_ADDRESS`.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import Viewer
from shangliao.catalog.service import access_product, cover_thumbnail
from shangliao.chat import card_keys
from shangliao.chat.models import Conversation
from shangliao.chat.schemas import MessageIn
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import DEFAULT_LOCALE, N_, gettext
from shangliao.core.money import format_yuan
from shangliao.customers.masking import FULL, MASKED, PiiView, may_reveal
from shangliao.customers.pii import ADDRESS_FIELDS, ORDERS, address_context, address_dict, public_address
from shangliao.inventory import stock
from shangliao.orders.couriers import COURIERS, courier_name, tracking_url
from shangliao.orders.create import check_amounts, price_lines
from shangliao.orders.models import Order
from shangliao.orders.schemas import ItemIn
from shangliao.orders.state import Status
from shangliao.orders.timeline import access_order, sealed, unseal
from shangliao.payments.checkout import offered_kinds

SEALED_ADDRESS = "address_sealed"
# What an erased card address reads: the placeholder erasure stores for names (data, like them).
ERASED_MARK = "已删除"
ERASED_ADDRESS: dict[str, str] = {name: "" for name in ADDRESS_FIELDS} | {"receiver": ERASED_MARK}


def product_card(session: Session, shop_id: int, product_id: int) -> dict[str, Any]:
    product = access_product(session, shop_id, product_id)
    prices = [v.price for v in product.variants if v.active] or [0]
    return {
        "product_id": product.id,
        "name": product.name,
        "image": cover_thumbnail(product),
        "price_min": min(prices),
        "price_max": max(prices),
        "share_token": product.share_token,
    }


def order_summary(order: Order) -> dict[str, Any]:
    """What every card of an order shows: which order, its status and its total."""
    return {"order_id": order.id, "number": order.number, "status": order.status, "total": order.total}


def order_snapshot(order: Order) -> dict[str, Any]:
    """The summary with its lines, and the shipping fee and discount that lead from the lines' sum
    to the total (the cards draw 运费 and 优惠 lines from them)."""
    return {
        **order_summary(order),
        "items": [
            {"name": i.name, "spec": i.spec, "quantity": i.quantity, "amount": i.amount} for i in order.items
        ],
        "shipping_fee": order.shipping_fee,
        "discount": order.discount,
    }


def order_card(session: Session, who: Viewer, order_id: int) -> dict[str, Any]:
    return order_snapshot(access_order(session, who, order_id))


def details_card(session: Session, keyring: Keyring, order: Order, conversation_id: int) -> dict[str, Any]:
    """Everything the customer should check before the order ships, the address sealed under the
    conversation's data key (never the order's own blob: that one rotates and is erased)."""
    address = None
    if order.address_enc is not None:
        plain = keyring.decrypt(order.address_enc, address_context(ORDERS))
        address = card_keys.seal(session, keyring, order.shop_id, conversation_id, plain)
    return {
        **order_snapshot(order),
        "items_total": order.items_total,
        "remark": order.remark,
        SEALED_ADDRESS: sealed(address),
    }


def tracking_card(order: Order, locale: str, parcels: list | None = None) -> dict[str, Any]:
    """The order with its courier and tracking number (the caller checked it has shipped); an
    order sent in several ``parcels`` (shipping/models.py) lists each one's as well."""
    courier = COURIERS.get(order.carrier_code or "")
    card = {
        **order_snapshot(order),
        "carrier_code": order.carrier_code,
        "carrier_name": courier_name(order.carrier_code, locale),
        "tracking_number": order.tracking_number,
        "tracking_url": courier.tracking_url(order.tracking_number)
        if courier and order.tracking_number
        else None,
    }
    if parcels and len(parcels) > 1:
        card["parcels"] = [
            {
                "seq": p.seq,
                "carrier_name": courier_name(p.carrier_code, locale),
                "tracking_number": p.tracking_number,
                "tracking_url": tracking_url(p.carrier_code, p.tracking_number),
            }
            for p in parcels
        ]
    return card


def card_address(session: Session | None, keyring: Keyring, blob: bytes) -> dict[str, str] | None:
    """A card's sealed address in full; ``None`` once erased. A card sealed before data keys
    existed holds a key-ring blob bound to the orders table, and opens with the ring. ``session``
    may be ``None`` only where no card of the new format can be (it reads the data key)."""
    if not card_keys.is_card_blob(blob):
        return address_dict(keyring, blob)
    assert session is not None, "a card sealed under a data key is opened with a session"
    plain = card_keys.open_blob(session, keyring, blob)
    if plain is None:
        return None
    data = orjson.loads(plain)
    return {name: data.get(name, "") for name in ADDRESS_FIELDS}


def open_card(
    session: Session | None,
    keyring: Keyring,
    data: dict[str, Any],
    *,
    public: bool = False,
    view: PiiView = FULL,
) -> dict[str, Any]:
    """A card's data as its reader sees it, a sealed address opened into ``address``: for staff as
    their ``view`` reads it (customers/masking.py); ``public``, only as much as the customer's
    device is shown (``as_shown``: staff reading it so still pass their ``view``);
    :data:`ERASED_ADDRESS` (``address_erased``) once the customer was erased."""
    if SEALED_ADDRESS not in data:
        return data
    opened = {k: v for k, v in data.items() if k != SEALED_ADDRESS}
    blob = unseal(data[SEALED_ADDRESS])
    full = card_address(session, keyring, blob) if blob else None
    if blob and full is None:
        opened["address"], opened["address_erased"] = dict(ERASED_ADDRESS), True
        return opened
    opened["address"] = as_shown(full, view) if full and public else view.address(full)
    return opened


def card_view(actor: Actor) -> PiiView:
    """How a member reads a card as the customer saw it (``as_shown``, ``shown_parts``): that is
    the customer's own data with the phone and street already hidden, so a member holding
    ``customers.pii`` reads the receiver's name whole, one without it masked."""
    return FULL if may_reveal(actor) else MASKED


def as_shown(full: dict[str, str], view: PiiView = FULL) -> dict[str, str]:
    """The address as the customer's device showed it (``pii.public_address``), read by ``view``:
    the customer's own device (``FULL``) keeps the receiver's name, a member without
    ``customers.pii`` reads it masked like everywhere else."""
    shown = public_address(full)
    return {**shown, "receiver": view.name(shown["receiver"]) or ""}


# The parts of a checkpoint card, in the language the checkpoint was sent in.
SHOWN_ITEM = N_("{name} × {quantity}: {amount}")
SHOWN_ITEMS_TOTAL = N_("Items: {amount}")
SHOWN_SHIPPING = N_("Shipping: {amount}")
SHOWN_DISCOUNT = N_("Discount: -{amount}")
SHOWN_TOTAL = N_("Total: {amount}")
SHOWN_ADDRESS = N_("Deliver to: {receiver} {phone} {region}")
SHOWN_ADDRESS_ERASED = N_("Deliver to: (erased)")
SHOWN_REMARK = N_("Remark: {remark}")
SHOWN_TRACKING = N_("Tracking number: {carrier} {number}")
SHOWN_PARCEL = N_("Parcel {n}: {carrier} {number}")


def shown_parts(
    session: Session | None, keyring: Keyring, data: dict[str, Any], body: str, *, view: PiiView = FULL
) -> list[str]:
    """What a checkpoint message shows the customer, part by part and in order: the note sent, then
    the card as it was sent (the stored snapshot, never today's order), the address as the
    customer's device shows it. Both pages draw exactly these lines, so the merchant's screen shows
    what the customer saw (rule 13 of docs/architecture.md keeps the message itself unchanged),
    read by the member's ``view`` (``as_shown``: the receiver masked without the permission)."""
    locale = data.get("locale") or DEFAULT_LOCALE

    def say(message: str, **params: Any) -> str:
        return gettext(message, locale, **params)

    parts = [body] if body else []
    for item in data.get("items") or []:
        name = f"{item['name']} {item['spec']}".strip() if item.get("spec") else item["name"]
        parts.append(
            say(SHOWN_ITEM, name=name, quantity=item["quantity"], amount=format_yuan(item["amount"]))
        )
    if data.get("items_total") is not None:
        parts.append(say(SHOWN_ITEMS_TOTAL, amount=format_yuan(data["items_total"])))
    if data.get("shipping_fee"):
        parts.append(say(SHOWN_SHIPPING, amount=format_yuan(data["shipping_fee"])))
    if data.get("discount"):
        parts.append(say(SHOWN_DISCOUNT, amount=format_yuan(data["discount"])))
    if data.get("total") is not None:
        parts.append(say(SHOWN_TOTAL, amount=format_yuan(data["total"])))
    blob = unseal(data.get(SEALED_ADDRESS))
    if blob:
        full = card_address(session, keyring, blob)
        if full is None:
            parts.append(say(SHOWN_ADDRESS_ERASED))
        else:
            parts.append(say(SHOWN_ADDRESS, **as_shown(full, view)).strip())
    if data.get("remark"):
        parts.append(say(SHOWN_REMARK, remark=data["remark"]))
    for p in data.get("parcels") or []:  # an order sent in several parcels: each one's number
        carrier = p["carrier_name"] or ""
        parts.append(say(SHOWN_PARCEL, n=p["seq"], carrier=carrier, number=p["tracking_number"]))
    if data.get("tracking_number") and not data.get("parcels"):
        parts.append(
            say(SHOWN_TRACKING, carrier=data.get("carrier_name") or "", number=data["tracking_number"])
        )
    return parts


def opened_message(
    session: Session | None,
    keyring: Keyring,
    out: dict[str, Any],
    *,
    public: bool = False,
    view: PiiView = FULL,
    shown_view: PiiView | None = None,
) -> dict[str, Any]:
    """``views.message_out(...)`` with its card opened (see ``open_card``) for a reader with
    ``view``; a checkpoint's card also carries ``shown``, the lines both pages draw (see
    ``shown_parts``: what the customer's device showed, which masks the phone and the street),
    read by ``shown_view`` (staff: ``card_view``; default ``view``)."""
    data = open_card(session, keyring, out["data"], public=public, view=view)
    if out["data"].get("checkpoint") and out["kind"] == "order_card":
        lines = shown_parts(session, keyring, out["data"], out["body"], view=shown_view or view)
        data = {**data, "shown": lines}
    return {**out, "data": data}


def customers_order(session: Session, who: Viewer, conversation: Conversation, order_id: int) -> Order:
    """One of this conversation's customer's orders in ``who``'s scope: another customer's, or a
    colleague's order for a member who sees only their own, is not found here, like another
    shop's (a card copies the order into the chat: the conversation alone is no gate to it)."""
    order = access_order(session, who, order_id)
    if order.customer_id != conversation.customer_id:
        raise NotFound("order.not_found", N_("No such order."))
    return order


def payment_request(order: Order, amount: int | None) -> dict[str, Any]:
    """Ask the customer to pay ``amount`` fen of ``order`` (omitted: all still unpaid). No payment
    provider is involved: the card's note tells the customer how to pay (e.g. a bank account)."""
    if order.status in (Status.DRAFT, Status.CANCELLED) or order.archived_at is not None:
        raise Conflict(
            "chat.order_not_payable",
            N_("Payment cannot be requested for a draft, cancelled or archived order."),
            details={"status": order.status, "archived": order.archived_at is not None},
        )
    unpaid = order.total - order.paid_amount
    if unpaid <= 0:
        raise Conflict("chat.order_paid", N_("This order has nothing left to pay."), details={"unpaid": 0})
    if amount is not None and amount > unpaid:
        raise Invalid(
            "chat.amount_exceeds_unpaid",
            N_("The amount is more than what is still owed ({outstanding})."),
            outstanding=format_yuan(unpaid),
            details={"unpaid": unpaid, "amount": amount},
        )
    return {
        "order_id": order.id,
        "number": order.number,
        "amount": unpaid if amount is None else amount,
        "total": order.total,
        "paid_amount": order.paid_amount,
        # Asked for a part (its amount is what the card pays) or for all that is owed (the card
        # pays whatever is owed when the customer opens it).
        "part": amount is not None,
    }


def quote_card(session: Session, shop_id: int, items: list[ItemIn]) -> dict[str, Any]:
    """Lines priced like an order's (the shop's active variants; catalog price unless negotiated),
    holding no stock and creating no order: a quote is only a snapshot of what was offered."""
    found = stock.load(session, shop_id, [line.variant_id for line in items])
    priced = price_lines(shop_id, items, found, hold=False)
    check_amounts(priced.items_total, 0, 0)
    keep = ("variant_id", "product_id", "name", "spec", "quantity", "unit_price", "amount")
    return {"items": [{k: row[k] for k in keep} for row in priced.rows], "total": priced.items_total}


def card_data(session: Session, who: Viewer, conversation: Conversation, body: MessageIn) -> dict[str, Any]:
    """The snapshot a card message carries (the schema made sure its ids/lines are present), of
    an order in ``who``'s scope."""
    if body.kind == "product_card":
        return product_card(session, conversation.shop_id, body.product_id)  # type: ignore[arg-type]
    if body.kind == "order_card":
        return order_snapshot(customers_order(session, who, conversation, body.order_id))  # type: ignore[arg-type]
    if body.kind == "payment_request":
        order = customers_order(session, who, conversation, body.order_id)  # type: ignore[arg-type]
        # The ways of paying offered stay on the card, so staff read what the customer was shown.
        return payment_request(order, body.amount) | {"methods": offered_kinds(session, conversation.shop_id)}
    if body.kind == "quote_card":
        return quote_card(session, conversation.shop_id, body.items)  # type: ignore[arg-type]
    return {}
