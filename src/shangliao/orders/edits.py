"""Edits, each recorded with old and new values: address (until shipped), items (until confirmed),
改价 — prices, shipping fee, discount (until paid)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.customers.pii import Address, decrypt_address, encrypt_address, phone_hashes
from shangliao.events import log
from shangliao.inventory import stock
from shangliao.orders.actions import held_moves
from shangliao.orders.create import check_amounts, price_lines
from shangliao.orders.models import Order, OrderItem
from shangliao.orders.schemas import ItemIn
from shangliao.orders.state import BEFORE_SHIPPING, HOLDS_STOCK, Status
from shangliao.orders.timeline import check_not_archived, check_version, record_change, sealed
from shangliao.shipping import fees

ITEMS_EDITABLE = frozenset({Status.DRAFT, Status.PENDING})


def do_change_address(
    session: Session,
    keyring: Keyring,
    actor: Actor,
    order: Order,
    address: Address,
    *,
    version: int | None = None,
) -> Order:
    check_version(order, version)
    check_not_archived(order)
    if Status(order.status) not in BEFORE_SHIPPING:
        raise Conflict(
            "order.address_locked",
            N_(
                "The order has already shipped, so its address can no longer change. "
                "Ask the courier to intercept or redirect the parcel and add a note."
            ),
        )
    old = order.address_enc
    # Another province may cost another fee, or not be delivered to (refused before any change).
    fee = _template_fee(session, order, address.province)
    order.address_enc = encrypt_address(keyring, address)
    order.phone_hash, order.phone_last4_hash = phone_hashes(keyring, address.phone)
    data = {"old": sealed(old), "new": sealed(order.address_enc)}
    if fee is not None and fee != order.shipping_fee:
        data["shipping_fee"] = {"old": order.shipping_fee, "new": fee}
        order.total = check_amounts(order.items_total, fee, order.discount)
        order.shipping_fee = fee
    record_change(session, order, actor, "address_changed", data=data)
    return order


def _template_fee(session: Session, order: Order, province: str | None) -> int | None:
    """The fee the shop's templates charge for the order's lines sent to ``province``; None when
    the fee was set by hand (it is kept) or no template applies."""
    if order.shipping_fee_overridden:
        return None
    rows = [{"variant_id": i.variant_id, "quantity": i.quantity, "amount": i.amount} for i in order.items]
    found = stock.peek(session, order.shop_id, [r["variant_id"] for r in rows if r["variant_id"]])
    quoted = fees.quote_for_order(session, order.shop_id, rows, found, province)
    return quoted.fee if quoted.applied else None


def _order_province(keyring: Keyring | None, order: Order) -> str | None:
    if keyring is None or order.address_enc is None:
        return None
    return decrypt_address(keyring, order.address_enc).province


def _item_summary(items: list[OrderItem] | list[dict]) -> list[dict]:
    get = (lambda i, k: i[k]) if items and isinstance(items[0], dict) else getattr
    return [
        {"sku": get(i, "sku"), "quantity": get(i, "quantity"), "unit_price": get(i, "unit_price")}
        for i in items
    ]


def do_replace_items(
    session: Session,
    actor: Actor,
    order: Order,
    lines: list[ItemIn],
    *,
    version: int | None = None,
    keyring: Keyring | None = None,
) -> Order:
    """Swap the item list of a draft or pending order; a pending order's stock holds follow. The
    shipping fee follows the shop's templates unless it was set by hand (``keyring`` opens the
    address for its province; without it the template's default fees apply)."""
    check_version(order, version)
    check_not_archived(order)
    status = Status(order.status)
    if status not in ITEMS_EDITABLE:
        raise Conflict("order.items_locked", N_("Items can only change before the order is confirmed."))
    holds = status in HOLDS_STOCK
    found = stock.load(session, order.shop_id, [line.variant_id for line in lines])
    priced = price_lines(order.shop_id, lines, found, hold=holds)
    old_fee = order.shipping_fee
    if not order.shipping_fee_overridden:
        quoted = fees.quote_for_order(
            session, order.shop_id, priced.rows, found, _order_province(keyring, order)
        )
        if quoted.applied:
            order.shipping_fee = quoted.fee
    total = check_amounts(priced.items_total, order.shipping_fee, order.discount)
    if total < order.paid_amount:
        raise Conflict(
            "order.total_below_paid", N_("The new total would be less than what was already paid.")
        )
    old_summary = _item_summary(order.items)
    if holds:
        low = stock.apply(
            session,
            order.shop_id,
            held_moves(order.items, "release") + priced.moves,
            order_id=order.id,
            actor_id=actor.staff_id,
            reason=f"order {order.number} items edited",
        )
        log.record(session, order.shop_id, low)
    order.items.clear()
    session.flush()
    for row in priced.rows:
        row.pop("shop_id")
        order.items.append(OrderItem(shop_id=order.shop_id, **row))
    order.items_total, order.total = priced.items_total, total
    record_change(
        session,
        order,
        actor,
        "items_changed",
        data={
            "old": old_summary,
            "new": _item_summary(priced.rows),
            "total": total,
            **(
                {"shipping_fee": {"old": old_fee, "new": order.shipping_fee}}
                if old_fee != order.shipping_fee
                else {}
            ),
        },
        event_data={"total": total},
    )
    return order


def do_change_price(
    session: Session,
    actor: Actor,
    order: Order,
    *,
    item_prices: dict[int, int] | None,
    shipping_fee: int | None,
    discount: int | None,
    reason: str,
    version: int | None = None,
) -> Order:
    """改价 before payment: new unit prices for some items, the shipping fee or the discount."""
    check_version(order, version)
    check_not_archived(order)
    if order.paid_amount > 0 or Status(order.status) not in BEFORE_SHIPPING:
        raise Conflict("order.price_locked", N_("The price can only change before the order is paid."))
    by_id = {item.id: item for item in order.items}
    unknown = sorted(set(item_prices or {}) - set(by_id))
    if unknown:
        raise Invalid(
            "order.unknown_item",
            N_("These items are not in the order: {ids}."),
            ids=", ".join(map(str, unknown)),
            details={"item_ids": unknown},
        )
    old = {
        "items_total": order.items_total,
        "shipping_fee": order.shipping_fee,
        "discount": order.discount,
        "total": order.total,
    }
    changed_items = []
    for item_id, price in (item_prices or {}).items():
        item = by_id[item_id]
        if item.unit_price != price:
            changed_items.append({"item_id": item_id, "sku": item.sku, "old": item.unit_price, "new": price})
            item.unit_price, item.amount = price, price * item.quantity
    items_total = sum(i.amount for i in order.items)
    new_fee = order.shipping_fee if shipping_fee is None else shipping_fee
    if shipping_fee is not None:
        # 改价 of the fee is the merchant's word: later edits no longer re-price it from templates.
        order.shipping_fee_overridden = True
    new_discount = order.discount if discount is None else discount
    total = check_amounts(items_total, new_fee, new_discount)
    order.items_total, order.shipping_fee, order.discount, order.total = (
        items_total,
        new_fee,
        new_discount,
        total,
    )
    new = {"items_total": items_total, "shipping_fee": new_fee, "discount": new_discount, "total": total}
    if new == old and not changed_items:
        return order
    record_change(
        session,
        order,
        actor,
        "price_changed",
        data={"old": old, "new": new, "items": changed_items, "reason": reason},
        event_data={"total": total},
    )
    return order
