"""One serializer for orders, used by every endpoint that returns one (JSON-ready dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shangliao.core.crypto import Keyring
from shangliao.customers.pii import Address, decrypt_address
from shangliao.orders.couriers import tracking_url
from shangliao.orders.create import CreatedOrder
from shangliao.orders.models import Order, OrderEvent, OrderItem
from shangliao.orders.payments import payment_status
from shangliao.orders.state import Status, allowed_actions
from shangliao.orders.timeline import unseal


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_dict(item: OrderItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "variant_id": item.variant_id,
        "product_id": item.product_id,
        "sku": item.sku,
        "name": item.name,
        "spec": item.spec,
        "unit_price": item.unit_price,
        "quantity": item.quantity,
        "amount": item.amount,
        "backorder": item.backorder,
    }


def order_dict(order: Order, keyring: Keyring) -> dict[str, Any]:
    address = decrypt_address(keyring, order.address_enc) if order.address_enc else None
    return _render(order, order.items, order.tags, address)


def created_order_dict(created: CreatedOrder) -> dict[str, Any]:
    """The create hot path's answer: rendered from what was just written (no re-read, no decrypt)."""
    return _render(created.row, created.items, created.tags, created.address)


def _render(order: Any, items: list[Any], tags: list[str], address: Address | None) -> dict[str, Any]:
    status = Status(order.status)
    return {
        "id": order.id,
        "number": order.number,
        "status": order.status,
        "channel": order.channel,
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "address": address.model_dump() if address else None,
        "items": [item_dict(i) for i in items],
        "items_total": order.items_total,
        "shipping_fee": order.shipping_fee,
        "discount": order.discount,
        "total": order.total,
        "paid_amount": order.paid_amount,
        "refunded_amount": order.refunded_amount,
        "payment_status": payment_status(order.total, order.paid_amount, order.refunded_amount),
        "remark": order.remark,
        "tags": tags,
        "assignee_id": order.assignee_id,
        "carrier_code": order.carrier_code,
        "tracking_number": order.tracking_number,
        "tracking_url": tracking_url(order.carrier_code, order.tracking_number),
        "cancel_reason": order.cancel_reason,
        "version": order.version,
        "archived": order.archived_at is not None,
        "allowed_actions": [] if order.archived_at else allowed_actions(status),
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "submitted_at": _iso(order.submitted_at),
        "confirmed_at": _iso(order.confirmed_at),
        "shipped_at": _iso(order.shipped_at),
        "completed_at": _iso(order.completed_at),
        "cancelled_at": _iso(order.cancelled_at),
        "paid_at": _iso(order.paid_at),
        "archived_at": _iso(order.archived_at),
    }


def event_dict(event: OrderEvent, keyring: Keyring) -> dict[str, Any]:
    """A timeline row for staff: encrypted address snapshots are opened, everything else as stored."""
    data = dict(event.data)
    if event.kind == "address_changed":
        for key in ("old", "new"):
            blob = unseal(data.get(key))
            data[key] = decrypt_address(keyring, blob).model_dump() if blob else None
    return {
        "id": event.id,
        "kind": event.kind,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "data": data,
        "created_at": _iso(event.created_at),
    }
