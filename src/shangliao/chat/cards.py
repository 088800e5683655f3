"""What a card message carries: a snapshot of the product or order when it was sent.

The snapshot is evidence ("this is the price you were shown"); the live state of an order card
(status, tracking) comes to the page from the order's own events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.catalog.service import access_product
from shangliao.chat.schemas import MessageIn
from shangliao.orders.timeline import access_order


def product_card(session: Session, shop_id: int, product_id: int) -> dict[str, Any]:
    product = access_product(session, shop_id, product_id)
    prices = [v.price for v in product.variants if v.active] or [0]
    return {
        "product_id": product.id,
        "name": product.name,
        "image": product.images[0] if product.images else None,
        "price_min": min(prices),
        "price_max": max(prices),
        "share_token": product.share_token,
    }


def order_card(session: Session, shop_id: int, order_id: int) -> dict[str, Any]:
    order = access_order(session, shop_id, order_id)
    return {
        "order_id": order.id,
        "number": order.number,
        "status": order.status,
        "total": order.total,
        "items": [
            {"name": i.name, "spec": i.spec, "quantity": i.quantity, "amount": i.amount} for i in order.items
        ],
    }


def card_data(session: Session, shop_id: int, body: MessageIn) -> dict[str, Any]:
    if body.kind == "product_card":
        return product_card(session, shop_id, body.product_id)  # type: ignore[arg-type]
    if body.kind == "order_card":
        return order_card(session, shop_id, body.order_id)  # type: ignore[arg-type]
    return {}
