"""What a customer on the shop page sees of the catalog and of their own orders, and what they may do.

Everything here answers a customer, so it is written as an allow-list: a product shows its name,
pictures and sellable variants (whether they can be had, never how many are in the warehouse);
an order shows its lines, amounts, public status and delivery, and only the public steps of its
timeline (``progress.py``: status changes, payments, parcels, after-sales). Notes, tags, assignees, cancel reasons, the staff
who acted and the street address never leave this module.

A device knows its customer by a phone number someone typed (``visitors.py``), which proves
nothing: like messages (``Visitor.since_seq``), a device sees only the orders placed from the
moment it joined, so typing a stranger's number shows none of their history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from shangliao.addresses.book import do_remember_address, same_address, saved_addresses
from shangliao.auth.actor import Actor
from shangliao.auth.scope import Scope
from shangliao.catalog.models import Product, Variant
from shangliao.catalog.service import public_photo
from shangliao.chat import cards, service
from shangliao.chat.models import Message, Visitor
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound, Unauthorized
from shangliao.core.i18n import N_
from shangliao.core.pagination import encode_cursor
from shangliao.core.schemas import RowRef, StrictModel
from shangliao.customers.pii import Address, Mobile, address_dict, phone_hashes, phone_lookups, public_address
from shangliao.orders import actions
from shangliao.orders.create import do_create_order, find_by_idempotency_key
from shangliao.orders.idempotency import check_same_request, fingerprint
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.payments import payment_status
from shangliao.orders.schemas import ItemIn, OrderCreate
from shangliao.orders.state import STATUS_LABELS, Status
from shangliao.orders.timeline import access_order
from shangliao.shipping import parcels
from shangliao.storefront.progress import (  # noqa: F401 (read as go.* by the pages and the API)
    AFTERSALE_STEPS,
    PUBLIC_STEPS,
    delivery,
    public_step,
    public_timeline,
)
from shangliao.storefront.visitors import (
    Guest,
    do_add_device,
    do_backdate_visitor,
    do_register_visitor,
    guest_for,
    phone_owner,
)

# How the customer reads each status. A draft is an order request the shop has not turned into
# an order yet; "pending" is an order waiting for the shop to confirm it.
CUSTOMER_STATUS: dict[str, str] = {
    Status.DRAFT.value: N_("Request sent, waiting for the shop"),
    Status.PENDING.value: N_("Waiting for the shop to confirm"),
    **{s.value: STATUS_LABELS[s] for s in Status if s not in (Status.DRAFT, Status.PENDING)},
}
PAGE_SIZE = 20


def product_not_found() -> NotFound:
    return NotFound("product.not_found", N_("This product is not on sale."))


def order_not_found() -> NotFound:
    return NotFound("order.not_found", N_("No such order."))


# --- the catalog, as a customer sees it -------------------------------------------------------


def availability(variant: Variant, product: Product) -> str:
    """``in_stock``, ``presale`` or ``sold_out``: what a buyer needs, not the warehouse count (a
    competitor should not read a shop's stock off its share links)."""
    if product.presale:
        return "presale"
    return "in_stock" if variant.available > 0 else "sold_out"


def public_product(product: Product) -> dict[str, Any]:
    variants = [v for v in product.variants if v.active]
    prices = [v.price for v in variants]
    return {
        "id": product.id,
        "name": product.name,
        "description": product.description,
        "images": list(product.images),
        "photos": [public_photo(p) for p in product.photos],  # uploaded, the cover first
        "options": list(product.options),
        "share_token": product.share_token,
        "price_min": min(prices, default=None),
        "price_max": max(prices, default=None),
        "variants": [
            {
                "id": v.id,
                "spec": v.spec,
                "spec_label": v.spec_label,
                "price": v.price,
                "availability": availability(v, product),
            }
            for v in variants
        ],
    }


def access_product_by_token(session: Session, shop_id: int, token: str) -> Product:
    """An active product of the shop behind a share token; anything else is simply not found."""
    product = session.scalar(
        select(Product)
        .where(Product.shop_id == shop_id, Product.share_token == token, Product.active.is_(True))
        .options(selectinload(Product.variants), selectinload(Product.photos))
    )
    if product is None or product.archived_at is not None:
        raise product_not_found()
    return product


def list_public_products(
    session: Session, shop_id: int, q: str | None, after_id: int | None, limit: int = PAGE_SIZE
) -> dict[str, Any]:
    """Active products, newest first, ``q`` matching the name or a merchant alias ("纸巾" finds the
    抽纸); keyset-paged on id."""
    stmt = select(Product).where(
        Product.shop_id == shop_id, Product.active.is_(True), Product.archived_at.is_(None)
    )
    if q:
        stmt = stmt.where(
            or_(Product.name.icontains(q, autoescape=True), Product.aliases.icontains(q, autoescape=True))
        )
    if after_id is not None:
        stmt = stmt.where(Product.id < after_id)
    rows = list(
        session.scalars(
            stmt.order_by(Product.id.desc())
            .limit(limit + 1)
            .options(selectinload(Product.variants), selectinload(Product.photos))
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [public_product(p) for p in rows],
        "next_cursor": encode_cursor([rows[-1].id]) if more else None,
    }


# --- orders, as their customer sees them ----------------------------------------------------------


def _visible(guest: Guest):
    """The orders this device may see: its customer's, placed since the device joined."""
    return (
        Order.shop_id == guest.shop_id,
        Order.customer_id == guest.customer_id,
        Order.created_at >= guest.joined_at,
    )


def access_guest_order(session: Session, guest: Guest, order_id: int, *, lock: bool = False) -> Order:
    """One of the visitor's orders; another customer's (or an older one) is 404, like any other."""
    stmt = select(Order).where(Order.id == order_id, *_visible(guest))
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt)
    if order is None:
        raise order_not_found()
    return order


def guest_orders(session: Session, guest: Guest, before_id: int | None, limit: int = PAGE_SIZE):
    stmt = select(Order).where(*_visible(guest))
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    rows = list(
        session.scalars(stmt.order_by(Order.id.desc()).limit(limit + 1).options(selectinload(Order.items)))
    )
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def offered_addresses(session: Session, keyring: Keyring, guest: Guest) -> list[dict[str, Any]]:
    """The customer's saved addresses for their order form, the default first.

    A device is trusted on a typed phone number, so one nobody vouched for (``guest.verified``) is
    shown in full only the addresses it typed itself; any other (staff may have saved the real
    owner's on the customer a stranger's device made) is offered masked, as ``pii.public_address``
    shows a device an address, and the order names it by id for the server to fill in."""
    saved = saved_addresses(session, keyring, guest.shop_id, guest.customer_id)
    typed = [] if guest.verified else _typed_addresses(session, keyring, guest)
    offered = []
    for address in saved:
        if guest.verified or any(same_address(address, t) for t in typed):
            offered.append({**address, "masked": False})
        else:
            offered.append(
                {
                    "id": address["id"],
                    "label": address["label"],
                    "is_default": address["is_default"],
                    "masked": True,
                    **public_address(address),
                }
            )
    return offered


def _typed_addresses(session: Session, keyring: Keyring, guest: Guest) -> list[dict[str, str]]:
    """The addresses this device typed: those of the product-link orders it may see (its customer's,
    placed since it joined) that staff have not changed since."""
    changed = select(OrderEvent.order_id).where(
        OrderEvent.shop_id == guest.shop_id, OrderEvent.kind == "address_changed"
    )
    blobs = session.scalars(
        select(Order.address_enc).where(
            *_visible(guest),
            Order.channel == "product_link",
            Order.address_enc.is_not(None),
            Order.id.not_in(changed),
        )
    )
    return [address_dict(keyring, blob) for blob in blobs]


def order_address(keyring: Keyring, order: Order) -> dict[str, str] | None:
    """The order's address as its customer's device is shown it (``pii.public_address``)."""
    return public_address(address_dict(keyring, order.address_enc)) if order.address_enc else None


def public_order(order: Order, keyring: Keyring) -> dict[str, Any]:
    """An order as its customer sees it (the order page, the card, the API)."""
    return {
        "id": order.id,
        "number": order.number,
        "status": order.status,
        "awaiting_shop": order.status in (Status.DRAFT.value, Status.PENDING.value),
        "channel": order.channel,
        "items": [
            {
                "name": i.name,
                "spec": i.spec,
                "quantity": i.quantity,
                "unit_price": i.unit_price,
                "amount": i.amount,
            }
            for i in order.items
        ],
        "items_total": order.items_total,
        "shipping_fee": order.shipping_fee,
        "discount": order.discount,
        "total": order.total,
        "paid_amount": order.paid_amount,
        "payment_status": payment_status(order.total, order.paid_amount, order.refunded_amount),
        "address": order_address(keyring, order),
        "delivery": delivery(order.carrier_code, order.tracking_number),  # the first parcel's
        "parcels_shipped": order.parcels_shipped,  # more than one: each one's is read (parcel_api.py)
        "can_confirm_receipt": order.status == Status.SHIPPED.value and order.archived_at is None,
        "created_at": order.created_at,
        "shipped_at": order.shipped_at,
        "completed_at": order.completed_at,
    }


# --- ordering ---------------------------------------------------------------------------------------


def idempotency_scope(guest: Guest, key: str) -> str:
    """Keys are the shop's (one unique index); a customer's are kept apart, so nobody can replay
    another customer's order, or the staff's, by guessing their key."""
    return customer_key(guest.customer_id, key)


def customer_key(customer_id: int, key: str) -> str:
    return f"visitor:{customer_id}:{key}"


def find_replay(session: Session, guest: Guest, key: str, body: OrderCreate) -> Order | None:
    order = find_by_idempotency_key(session, guest.shop_id, idempotency_scope(guest, key))
    if order is not None:
        check_same_request(order.idempotency_hash, fingerprint(body))
    return order


def do_claim_replayed_order(session: Session, guest: Guest, order: Order) -> Guest:
    """A device introduced by this very request found, by its Idempotency-Key, the order its first
    attempt placed: the first answer (and the cookie with it) was lost on the way. The same key and
    body prove this device placed it, so it joins from that order on, its card included, as the
    lost cookie would have let it; nothing said before the order becomes visible."""
    card_seq = session.scalar(
        select(func.min(Message.seq)).where(
            Message.shop_id == guest.shop_id,
            Message.conversation_id == guest.conversation_id,
            Message.kind == "order_card",
            Message.sender_type.in_(("customer", "system")),  # "system" before the card was the customer's
            Message.data["order_id"].as_integer() == order.id,
        )
    )
    since = guest.since_seq if card_seq is None else min(guest.since_seq, card_seq - 1)
    joined = min(guest.joined_at, order.created_at)
    return do_backdate_visitor(session, guest, since_seq=since, joined_at=joined)


def check_variant_of(product: Product, variant_id: int) -> Variant:
    for variant in product.variants:
        if variant.id == variant_id and variant.active:
            return variant
    raise NotFound("variant.not_found", N_("This option of the product is not on sale."))


def _friendly_stock(exc: Conflict, names: Mapping[int, str]) -> Conflict:
    """The staff's message names the SKU and the count in stock; the customer gets neither."""
    variant_id = exc.details.get("variant_id")
    return Conflict(
        "stock.insufficient",
        N_("Not enough of {name} left for this quantity. Choose fewer or another option."),
        name=names.get(variant_id, ""),
        details={"variant_id": variant_id},
    )


def do_order_from_link(
    session: Session,
    keyring: Keyring,
    guest: Guest,
    timezone: str,
    body: OrderCreate,
    *,
    names: Mapping[int, str],
    idempotency_key: str | None,
) -> Order:
    """A pending order (stock held) in the customer's conversation, with its card posted there."""
    actor = Actor.customer(guest.shop_id, guest.customer_id, timezone)
    key = idempotency_scope(guest, idempotency_key) if idempotency_key else None
    try:
        created = do_create_order(
            session, keyring, actor, body, idempotency_key=key, conversation_id=guest.conversation_id
        )
    except (Conflict, NotFound) as exc:
        if exc.code == "stock.insufficient":
            raise _friendly_stock(exc, names) from exc
        if exc.code in ("order.variant_inactive", "order.unknown_variant"):  # the SKU is the shop's word
            raise Conflict(
                "order.not_on_sale",
                N_("{name} is no longer on sale: ask the shop, or choose another product."),
                name=names.get(exc.details.get("variant_id"), ""),
                details={"variant_id": exc.details.get("variant_id")},
            ) from exc
        raise
    card = cards.order_card(session, Scope.whole_shop(guest.shop_id), created.row.id)
    # The customer placed it, so the card is theirs: like any customer message it is unread for
    # the shop (the inbox row, the 聊天 badge, the alert) until someone opens the conversation.
    service.do_send(
        session,
        keyring,
        guest.shop_id,
        guest.conversation_id,
        sender_type="customer",
        sender_id=guest.customer_id,
        kind="order_card",
        data=card,
    )
    return access_order(session, Scope.whole_shop(guest.shop_id), created.row.id)


def request_replay(session: Session, guest: Guest, client_id: str | None) -> Message | None:
    """The order request already sent under this client id (a retried tap sends nothing new)."""
    if client_id is None:
        return None
    message = session.scalar(
        select(Message).where(
            Message.shop_id == guest.shop_id,
            Message.conversation_id == guest.conversation_id,
            Message.client_id == client_id,
        )
    )
    if message is not None and (message.sender_type != "customer" or message.sender_id != guest.customer_id):
        raise Conflict(
            "chat.client_id_taken", N_("This message id was already used by someone else. Send it again.")
        )
    return message


def do_request_order(
    session: Session,
    keyring: Keyring,
    guest: Guest,
    timezone: str,
    items: list[ItemIn],
    remark: str,
    client_id: str | None,
) -> service.Sent:
    """Products picked in the chat: a draft order for the shop to complete (it holds no stock), and
    the customer's ``order_request`` message pointing at it."""
    if client_id is not None:
        # Two copies of one tap at once: the second waits here, then finds the first one's message
        # instead of drafting an orphan order and colliding on the message's client id.
        service.lock_conversation(session, guest.shop_id, guest.conversation_id)
    earlier = request_replay(session, guest, client_id)
    if earlier is not None:
        return service.sent_from(earlier, replayed=True)
    actor = Actor.customer(guest.shop_id, guest.customer_id, timezone)
    body = OrderCreate(customer_id=guest.customer_id, items=items, remark=remark, channel="chat", draft=True)
    created = do_create_order(session, keyring, actor, body, conversation_id=guest.conversation_id)
    lines = [
        {
            "variant_id": row.variant_id,
            "product_id": row.product_id,
            "name": row.name,
            "spec": row.spec,
            "quantity": row.quantity,
            "unit_price": row.unit_price,
        }
        for row in created.items
    ]
    return service.do_send(
        session,
        keyring,
        guest.shop_id,
        guest.conversation_id,
        sender_type="customer",
        sender_id=guest.customer_id,
        kind="order_request",
        data={"order_id": created.row.id, "items": lines, "remark": remark},
        client_id=client_id,
    )


def do_confirm_receipt(
    session: Session, guest: Guest, timezone: str, order_id: int, *, parcel_id: int | None = None
) -> Order:
    """The customer says the parcel arrived: shipped → completed, on the timeline as theirs (the
    lifecycle lets a customer take this one step on their own order). With ``parcel_id`` only that
    parcel is signed for, and the order completes once every parcel has (shipping/parcels.py)."""
    order = access_guest_order(session, guest, order_id, lock=True)
    customer = Actor.customer(guest.shop_id, guest.customer_id, timezone)
    if parcel_id is not None:
        parcels.do_mark_delivered(session, customer, order, parcel_id)
        if not parcels.ready_to_complete(session, order):
            return order
    return actions.do_transition(session, customer, order, "complete", {})


class LinkOrderIn(StrictModel):
    """An order from a product's share link. ``name`` and ``phone`` introduce a new device."""

    token: str = Field(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    variant_id: RowRef
    quantity: int = Field(gt=0, le=999)
    # The address as typed, or one of the customer's saved ones by id (the form's masked choices).
    address: Address | None = None
    address_id: RowRef | None = None
    remark: str = Field("", max_length=500)
    name: str | None = Field(None, min_length=1, max_length=32)
    phone: Mobile | None = None


@dataclass(frozen=True)
class LinkOrder:
    order: Any
    guest: Guest
    new_token: str | None  # the raw visitor token of a device introduced by this order, for its cookie
    replayed: bool  # a retry of an order placed already (same Idempotency-Key and body)


def do_order_from_link_as_visitor(
    session: Session,
    keyring: Keyring,
    shop: Any,
    cookie: str | None,
    body: LinkOrderIn,
    idempotency_key: str | None,
    *,
    before_introducing: Callable[[], None],
) -> LinkOrder:
    """Order from a product link as the device behind ``cookie``; a device the shop does not know
    introduces itself with the form's name and phone (``before_introducing`` may refuse it)."""
    product = access_product_by_token(session, shop.id, body.token)
    check_variant_of(product, body.variant_id)
    if (body.address is None) == (body.address_id is None):
        raise Invalid(
            "order.address_required", N_("An order needs a delivery address."), details={"field": "address"}
        )
    guest, new_token = guest_for(session, shop.id, cookie), None
    if guest is None:
        if not (body.name and body.name.strip() and body.phone):
            raise Unauthorized("chat.visitor_required", N_("Tell the shop your name and phone first."))
        before_introducing()
        new_token, guest = _introduce(session, keyring, shop.id, body, idempotency_key)
    order_body = OrderCreate(
        customer_id=guest.customer_id,
        address=body.address,
        address_id=body.address_id,  # one of this customer's own (another's is not found)
        items=[ItemIn(variant_id=body.variant_id, quantity=body.quantity)],
        remark=body.remark,
        channel="product_link",
    )
    replay = find_replay(session, guest, idempotency_key, order_body) if idempotency_key else None
    if replay is not None:
        if new_token is not None:  # the first answer was lost with its cookie: this device placed it
            guest = do_claim_replayed_order(session, guest, replay)
        return LinkOrder(replay, guest, new_token, replayed=True)
    order = do_order_from_link(
        session,
        keyring,
        guest,
        shop.timezone,
        order_body,
        names={body.variant_id: product.name},
        idempotency_key=idempotency_key,
    )
    # The address goes on the customer's record too (once), so their next draft in the console and
    # their next order form offer it instead of starting empty.
    if body.address is not None:  # a saved one picked by id is on the record already
        customer = Actor.customer(guest.shop_id, guest.customer_id, shop.timezone)
        do_remember_address(session, keyring, customer, guest.customer_id, body.address)
    return LinkOrder(order, guest, new_token, replayed=False)


# How many devices claiming one phone a lost answer's retry looks through for its first order.
MAX_CLAIMING = 50


def _introduce(
    session: Session, keyring: Keyring, shop_id: int, body: LinkOrderIn, idempotency_key: str | None
) -> tuple[str, Guest]:
    """A new device from the order form. When its first attempt placed the order but the answer
    (and the cookie in it) was lost, the retry is that same customer again, not a new one: its key
    names the order, which ``find_replay`` then checks against the body."""
    full_hash, _ = phone_hashes(keyring, body.phone)
    owner = phone_owner(session, shop_id, phone_lookups(keyring, body.phone))  # any key of the ring
    earlier = _lost_first_order(session, shop_id, full_hash, owner, idempotency_key)
    if earlier is None:
        return do_register_visitor(session, keyring, shop_id, body.name.strip(), body.phone)
    claim = None if earlier.customer_id == owner else full_hash
    return do_add_device(
        session, shop_id, earlier.customer_id, claimed_phone_hash=claim, typed_phone_hash=full_hash
    )


def _lost_first_order(
    session: Session, shop_id: int, phone_hash: bytes, owner: int | None, key: str | None
) -> Order | None:
    """The order placed under ``key`` by whoever typing this phone could have become: its owner,
    or a customer made for a device that claimed it."""
    if key is None:
        return None
    claiming = session.scalars(
        select(Visitor.customer_id)
        .where(Visitor.shop_id == shop_id, Visitor.claimed_phone_hash == phone_hash)
        .order_by(Visitor.id.desc())
        .limit(MAX_CLAIMING)
    ).all()
    candidates = {*claiming, *([owner] if owner is not None else [])}
    if not candidates:
        return None
    scopes = [customer_key(cid, key) for cid in candidates]
    return session.scalar(
        select(Order).where(Order.shop_id == shop_id, Order.idempotency_key.in_(scopes)).limit(1)
    )
