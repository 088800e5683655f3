"""One serializer for orders, used by every endpoint that returns one (JSON-ready dicts)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import object_session

from shangliao.core.crypto import Keyring
from shangliao.customers.masking import FULL, PiiView
from shangliao.customers.pii import address_dict, decrypt_address
from shangliao.orders.couriers import tracking_url
from shangliao.orders.create import CreatedOrder
from shangliao.orders.listing import Page
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.payments import payment_status
from shangliao.orders.state import Status, allowed_actions, partly_shipped
from shangliao.orders.timeline import unseal
from shangliao.orders.workflow import Workflow, paid_in_full, workflow_for


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_ITEM_FIELDS = (
    "id", "variant_id", "product_id", "sku", "name", "spec", "unit_price", "quantity", "amount", "backorder",
)  # fmt: skip
# Copied as they are; datetimes stay datetimes, which the JSON encoder writes as ISO 8601 in C.
_ORDER_FIELDS = (
    "id", "number", "status", "channel", "customer_id", "conversation_id", "customer_name", "items_total",
    "shipping_fee", "discount", "total", "paid_amount", "refunded_amount", "remark", "assignee_id",
    "carrier_code", "tracking_number", "cancel_reason", "cancel_note", "version", "created_at", "updated_at", "submitted_at",
    "confirmed_at", "shipped_at", "completed_at", "cancelled_at", "paid_at", "archived_at",
)  # fmt: skip


def _picked(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """``names`` of a row (result row or named tuple, by its field names) or of an object (ORM
    row, namespace, by attribute), as a new dict."""
    fields = getattr(obj, "_fields", None)
    if fields is None:
        return {name: getattr(obj, name) for name in names}
    values = dict(zip(fields, obj, strict=True))
    return {name: values[name] for name in names}


def item_dict(item: Any) -> dict[str, Any]:
    return _picked(item, _ITEM_FIELDS)


# ``view`` (customers/masking.py) is the caller's: a staff route passes ``view_for(actor)``; the
# default reads in full for the system itself and the customer's own data export.
# The shop's workflow (``orders/workflow.py``) decides which steps ``allowed_actions`` offers: read
# through the order's own session unless the caller has it at hand.
def order_dict(
    order: Order, keyring: Keyring, view: PiiView = FULL, *, flow: Workflow | None = None
) -> dict[str, Any]:
    if flow is None:
        flow = workflow_for(object_session(order), order.shop_id)
    return _render(order, order.items, order.tags, _address(order, keyring, view), flow)


def page_dicts(page: Page, keyring: Keyring, view: PiiView = FULL, *, flow: Workflow) -> list[dict[str, Any]]:
    """The orders of a list page (rows with their items and tags beside them)."""
    return [
        _render(o, page.items[o.id], page.tags[o.id], _address(o, keyring, view), flow) for o in page.orders
    ]


def created_order_dict(created: CreatedOrder, view: PiiView = FULL) -> dict[str, Any]:
    """The create hot path's answer: rendered from what was just written (no re-read, no decrypt)."""
    address = view.address(created.address.model_dump()) if created.address else None
    return _render(created.row, created.items, created.tags, address, created.flow)


def _address(order: Any, keyring: Keyring, view: PiiView) -> dict[str, str] | None:
    return view.address(address_dict(keyring, order.address_enc)) if order.address_enc else None


def _render(
    order: Any, items: list[Any], tags: list[str], address: dict[str, str] | None, flow: Workflow
) -> dict[str, Any]:
    """An order as the API shows it (``OrderOut``)."""
    out = _picked(order, _ORDER_FIELDS)
    out["address"] = address
    out["items"] = [item_dict(i) for i in items]
    out["payment_status"] = payment_status(out["total"], out["paid_amount"], out["refunded_amount"])
    out["tags"] = tags
    out["tracking_url"] = tracking_url(out["carrier_code"], out["tracking_number"])
    archived = out["archived_at"] is not None
    out["archived"] = archived
    out["partly_shipped"] = partly = partly_shipped(out["status"], order.parcels_shipped)
    actions = () if archived else _actions_of(out["status"])
    closed = flow.closed(paid_in_full=paid_in_full(order))
    if partly:  # goods are on the road: cancelling is refused (shipping/parcels.py check_nothing_shipped)
        closed |= {"cancel"}
    out["allowed_actions"] = [a for a in actions if a not in closed]
    return out


@cache
def _actions_of(status: str) -> tuple[str, ...]:
    return tuple(allowed_actions(Status(status)))


def event_dict(event: OrderEvent, keyring: Keyring, view: PiiView = FULL) -> dict[str, Any]:
    """A timeline row for staff: encrypted address snapshots are opened (as ``view`` lets the
    caller read them), everything else as stored."""
    data = dict(event.data)
    if event.kind == "address_changed":
        for key in ("old", "new"):
            blob = unseal(data.get(key))
            data[key] = view.address(decrypt_address(keyring, blob).model_dump()) if blob else None
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
