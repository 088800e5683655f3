"""Orders born in chat on the staff side: a customer's free text read as a pre-filled draft, and the
order created from the conversation.

The recogniser (``intent.recognise``) needs the shop's catalog as word indexes, which cost milliseconds to
build: they are kept per process, keyed by a cheap version of the catalog (row counts and the
latest ``updated_at`` of products and variants), so an edited product (its merchant aliases too) is
seen at the next suggestion without anyone having to invalidate anything.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.catalog.models import Product, Variant, alias_list, spec_label
from shangliao.catalog.service import on_offer
from shangliao.chat.models import Conversation, Message
from shangliao.chat.service import may_open_conversation
from shangliao.core.crypto import Keyring
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import RowRef, StrictModel
from shangliao.customers.pii import Address
from shangliao.intent.recognise import Catalog, CatalogVariant, recognise
from shangliao.orders.create import CreatedOrder, do_create_order
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.schemas import ItemIn, OrderCreate, clean_tags
from shangliao.orders.state import Status

# Shops whose catalog indexes a process keeps; the least recently used one goes first.
CACHE_SHOPS = 64


@dataclass(frozen=True)
class Priced:
    """What a draft line shows for a variant: its names and the catalog price (fen)."""

    product_id: int
    name: str
    spec: str
    price: int


@dataclass(frozen=True)
class ShopCatalog:
    version: tuple[Any, ...]
    catalog: Catalog
    variants: dict[int, Priced]  # by variant id
    products: dict[int, str]  # product id -> name


@dataclass(frozen=True)
class Suggestion:
    is_order: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"is_order": self.is_order, "items": self.items, "unmatched": self.unmatched}


NOT_AN_ORDER = Suggestion(False)


class _Cache:
    """A small LRU of shop catalogs, safe across the threads that serve requests."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[int, ShopCatalog] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, shop_id: int, version: tuple[Any, ...]) -> ShopCatalog | None:
        with self._lock:
            found = self._rows.get(shop_id)
            if found is None or found.version != version:
                return None
            self._rows.move_to_end(shop_id)
            return found

    def put(self, shop_id: int, entry: ShopCatalog) -> None:
        with self._lock:
            self._rows[shop_id] = entry
            self._rows.move_to_end(shop_id)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_cache = _Cache(CACHE_SHOPS)


def catalog_version(session: Session, shop_id: int) -> tuple[Any, ...]:
    """Changes whenever a product or variant is added, removed or edited (stock moves too: they
    touch ``updated_at``; a rebuild then costs a few milliseconds, once)."""
    products = select(func.count(Product.id), func.max(Product.updated_at)).where(Product.shop_id == shop_id)
    variants = select(func.count(Variant.id), func.max(Variant.updated_at)).where(Variant.shop_id == shop_id)
    return (*session.execute(products).one(), *session.execute(variants).one())


def shop_catalog(session: Session, shop_id: int) -> ShopCatalog:
    """The shop's active products and variants as the recogniser reads them (cached per process)."""
    version = catalog_version(session, shop_id)
    cached = _cache.get(shop_id, version)
    if cached is not None:
        return cached
    rows = session.execute(
        select(
            Variant.id,
            Variant.product_id,
            Variant.spec,
            Variant.price,
            Product.name,
            Product.aliases,
            Product.options,
        )
        .join(Product, Product.id == Variant.product_id)
        .where(*on_offer(shop_id), Product.archived_at.is_(None))
        .order_by(Variant.product_id, Variant.position, Variant.id)
    ).all()
    entry = ShopCatalog(
        version,
        Catalog(
            CatalogVariant(
                r.id,
                r.product_id,
                r.name,
                {str(k): str(v) for k, v in r.spec.items()},
                tuple(alias_list(r.aliases)),
            )
            for r in rows
        ),
        {r.id: Priced(r.product_id, r.name, spec_label(r.options, r.spec), r.price) for r in rows},
        {r.product_id: r.name for r in rows},
    )
    _cache.put(shop_id, entry)
    return entry


def suggest(session: Session, shop_id: int, message: Message | str) -> Suggestion:
    """Read a customer's text as an order: the lines found in the catalog (variant and price when
    the words pick one) and the pieces left for staff. A staff, system, recalled or non-text
    message is never an order."""
    if isinstance(message, Message):
        if message.kind != "text" or message.sender_type != "customer" or message.recalled_at is not None:
            return NOT_AN_ORDER
        message = message.body
    if not message.strip():
        return NOT_AN_ORDER
    shop = shop_catalog(session, shop_id)
    intent = recognise(message, shop.catalog)
    if not intent.is_order:
        return NOT_AN_ORDER
    items, unmatched = [], []
    for line in intent.lines:
        if line.product_id is None:
            unmatched.append(line.text)
            continue
        priced = shop.variants.get(line.variant_id) if line.variant_id is not None else None
        items.append(
            {
                "product_id": line.product_id,
                # None: the product has several variants and the words did not pick one; staff do.
                "variant_id": line.variant_id,
                "name": shop.products[line.product_id],
                "spec": priced.spec if priced else "",
                "quantity": line.quantity,
                "unit_price": priced.price if priced else None,
                "text": line.text,
            }
        )
    return Suggestion(True, items, unmatched)


# --- the order --------------------------------------------------------------------------------------


class ChatOrderIn(StrictModel):
    """An order made from a conversation: the customer and the channel come from the chat."""

    items: list[ItemIn] = Field(min_length=1, max_length=100)
    address_id: RowRef | None = Field(
        default=None, description="One of the customer's addresses; omitted = their default one."
    )
    address: Address | None = None
    shipping_fee: int = Field(default=0, ge=0, le=100_000_000)
    discount: int = Field(default=0, ge=0, le=100_000_000)
    remark: str = Field(default="", max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=10)
    assignee_id: RowRef | None = None
    draft: bool = Field(
        default=True, description="A draft (the default) needs no address; false places it as pending."
    )
    source_message_id: RowRef | None = Field(
        default=None, description="The customer's message the order was read from (of this conversation)."
    )

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return clean_tags(tags)


def access_message(session: Session, conversation: Conversation, message_id: int) -> Message:
    """A message of ``conversation`` (404 for any other conversation's or shop's)."""
    message = session.scalar(
        select(Message).where(
            Message.id == message_id,
            Message.shop_id == conversation.shop_id,
            Message.conversation_id == conversation.id,
            Message.kind != "recall",
        )
    )
    if message is None:
        raise NotFound("chat.message_not_found", N_("This message does not exist."))
    return message


def do_order_from_chat(
    session: Session, keyring: Keyring, actor: Actor, conversation: Conversation, body: ChatOrderIn
) -> CreatedOrder:
    """Create the order (a draft by default) for the conversation's customer, linked to it for good."""
    source = access_message(session, conversation, body.source_message_id) if body.source_message_id else None
    # A fee left out is priced by the shop's 运费模板 (shipping/fees.py), so it is not passed on.
    left_out = {"source_message_id"} | ({"shipping_fee"} - body.model_fields_set)
    order = OrderCreate(
        **body.model_dump(exclude=left_out), customer_id=conversation.customer_id, channel="chat"
    )
    noted = {"source_message_id": source.id, "source_seq": source.seq} if source is not None else None
    return do_create_order(
        session, keyring, actor, order, conversation_id=conversation.id, created_data=noted
    )


# --- what a draft should warn about before it is submitted ------------------------------------------

# Each warning's text: the name and option of the line, and the numbers that explain it.
DRAFT_WARNINGS = {
    "inactive": N_("{item} is no longer on sale: change the items, or submitting will be refused."),
    "sold_out": N_("{item} is sold out: submitting will be refused until it is restocked."),
    "short": N_(
        "Only {available} of {item} left, the draft asks for {quantity}: submitting will be refused."
    ),
    "presale": N_("{item} is a presale item: it ships later, once it is in stock."),
}


def draft_warnings(session: Session, order: Order) -> list[dict[str, Any]]:
    """What would stop this draft's submission, or surprise the customer, seen now: a variant no
    longer on sale, not enough stock for a line (submitting holds it), or a presale line (it holds
    no stock and ships later, as ``inventory.stock`` records presale: a backorder). Each is
    ``{"kind", "message", "params"}``; empty for anything but a draft."""
    if order.status != Status.DRAFT.value:
        return []
    ids = {i.variant_id for i in order.items if i.variant_id is not None}
    rows = {
        r.id: r
        for r in session.execute(
            select(
                Variant.id, Variant.on_hand, Variant.reserved, Variant.active, Product.active.label("on_sale")
            )
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.shop_id == order.shop_id, Variant.id.in_(ids))
        )
    }
    # Submitting holds every non-presale line at once: the lines of one variant add up.
    wanted: dict[int, int] = {}
    for item in order.items:
        if item.variant_id is not None and item.backorder == 0:
            wanted[item.variant_id] = wanted.get(item.variant_id, 0) + item.quantity
    warnings: list[dict[str, Any]] = []
    for item in order.items:
        label = f"{item.name} {item.spec}".strip()
        row = rows.get(item.variant_id) if item.variant_id is not None else None
        if row is None or not (row.active and row.on_sale):
            kind, params = "inactive", {"item": label}
        elif item.backorder > 0:
            kind, params = "presale", {"item": label}
        elif (available := row.on_hand - row.reserved) < wanted[row.id]:
            kind = "sold_out" if available <= 0 else "short"
            params = {"item": label, "available": max(available, 0), "quantity": wanted[row.id]}
        else:
            continue
        warnings.append({"kind": kind, "message": DRAFT_WARNINGS[kind], "params": params})
    return warnings


def source_of(session: Session, viewer: Actor, order: Order) -> dict[str, Any] | None:
    """The customer's message an order was drafted from, when it was made from the chat and its
    conversation is in ``viewer``'s scope (the order may be theirs, the talk a colleague's)."""
    data = session.scalar(
        select(OrderEvent.data).where(OrderEvent.order_id == order.id, OrderEvent.kind == "created").limit(1)
    )
    message_id = (data or {}).get("source_message_id")
    if not message_id:
        return None
    message = session.scalar(
        select(Message).where(Message.id == message_id, Message.shop_id == order.shop_id)
    )
    if message is None:
        return None
    if not may_open_conversation(session, viewer, message.conversation_id):
        return None
    recalled = message.recalled_at is not None
    return {
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "text": "" if recalled else message.body,
        "recalled": recalled,
    }
