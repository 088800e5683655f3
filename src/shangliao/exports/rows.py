"""The orders an export holds, read as the list reads them: the same filters and search (the
member's :class:`~shangliao.orders.listing.OrderQuery` and data scope, through
``listing.spec_for``), walked by the list's keyset cursor a thousand at a time, each page in a
short read of its own. Each order comes out as plain values keyed by column (exports/columns.py),
personal data masked unless the exporter may read it in full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from shangliao.auth.scope import Viewer
from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_, gettext
from shangliao.customers.masking import PiiView
from shangliao.customers.pii import address_dict
from shangliao.orders import list_sql
from shangliao.orders.couriers import courier_name
from shangliao.orders.listing import OrderQuery, spec_for
from shangliao.orders.models import OrderItem, OrderNote, OrderTag
from shangliao.orders.payments import payment_status
from shangliao.orders.state import STATUS_LABELS, Status
from shangliao.storage.database import Database

PAGE = 1000
CHANNEL_LABELS = {
    "chat": N_("Chat"),
    "product_link": N_("Product link"),
    "manual": N_("Manual"),
    "quote": N_("Quote sheet"),
}
PAYMENT_LABELS = {
    "unpaid": N_("Unpaid"),
    "partially_paid": N_("Partially paid"),
    "paid": N_("Paid"),
    "partially_refunded": N_("Partially refunded"),
    "refunded": N_("Refunded"),
}
_items, _tags, _notes = OrderItem.__table__, OrderTag.__table__, OrderNote.__table__


@dataclass(frozen=True)
class Reader:
    """Who exports what, and how they read it."""

    keyring: Keyring
    who: Viewer
    timezone: str
    query: OrderQuery
    view: PiiView
    locale: str

    def spec(self) -> list_sql.Spec:
        return replace(
            spec_for(self.keyring, self.who, self.timezone, self.query.model_copy(update={"cursor": None})),
            limit=PAGE,
        )


def count(conn: Connection, reader: Reader) -> int:
    """How many orders the export will hold (for its progress)."""
    spec = reader.spec()
    if spec.branches == ():
        return 0
    return conn.scalar(
        select(func.count()).select_from(list_sql.matching_statement(spec).subquery()), spec.params()
    )


def pages(db: Database, reader: Reader) -> Iterator[list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """Page after page of ``(order values, its lines' values)``, in the list's order."""
    spec = reader.spec()
    if spec.branches == ():
        return
    sort = spec.sort.lstrip("-")
    while True:
        with db.snapshot() as conn:
            rows = list_sql.prepared_page(spec).rows(conn, spec.params())
            page = rows[:PAGE]
            if not page:
                return
            lines = _lines(conn, spec.shop_id, [r.id for r in page])
        yield [_order(reader, row, *lines(row.id)) for row in page]
        if len(rows) <= PAGE:
            return
        last = page[-1]
        spec = replace(spec, after=(getattr(last, sort), last.id))


def _lines(conn: Connection, shop_id: int, ids: list[int]):
    items: dict[int, list[Any]] = {i: [] for i in ids}
    tags: dict[int, list[str]] = {i: [] for i in ids}
    notes: dict[int, list[str]] = {i: [] for i in ids}
    for row in conn.execute(
        select(_items)
        .where(_items.c.shop_id == shop_id, _items.c.order_id.in_(ids))
        .order_by(_items.c.order_id, _items.c.position)
    ):
        items[row.order_id].append(row)
    for order_id, tag in conn.execute(
        select(_tags.c.order_id, _tags.c.tag)
        .where(_tags.c.shop_id == shop_id, _tags.c.order_id.in_(ids))
        .order_by(_tags.c.tag)
    ):
        tags[order_id].append(tag)
    for order_id, body in conn.execute(
        select(_notes.c.order_id, _notes.c.body)
        .where(_notes.c.shop_id == shop_id, _notes.c.order_id.in_(ids))
        .order_by(_notes.c.id)
    ):
        notes[order_id].append(body)
    return lambda order_id: (items[order_id], tags[order_id], notes[order_id])


def _order(reader: Reader, o: Any, items: list[Any], tags: list[str], notes: list[str]):
    locale, view = reader.locale, reader.view
    address = view.address(address_dict(reader.keyring, o.address_enc)) if o.address_enc else {}
    status = gettext(STATUS_LABELS[Status(o.status)], locale)
    paid = payment_status(o.total, o.paid_amount, o.refunded_amount)
    order = {
        "number": o.number,
        "created_at": o.created_at,
        "paid_at": o.paid_at,
        "status": status,
        "payment_status": gettext(PAYMENT_LABELS[paid], locale),
        "buyer": view.name(o.customer_name) or "",
        "receiver": address.get("receiver", ""),
        "phone": address.get("phone", ""),
        "province": address.get("province", ""),
        "city": address.get("city", ""),
        "district": address.get("district", ""),
        "detail": address.get("detail", ""),
        "goods": "；".join(f"{i.name}{f'（{i.spec}）' if i.spec else ''} ×{i.quantity}" for i in items),
        "quantity": sum(i.quantity for i in items),
        "items_total": o.items_total,
        "shipping_fee": o.shipping_fee,
        "discount": o.discount,
        "total": o.total,
        "paid_amount": o.paid_amount,
        "refunded_amount": o.refunded_amount,
        "carrier": courier_name(o.carrier_code, locale) or "",
        "tracking_number": o.tracking_number or "",
        "remark": o.remark or "",
        "notes": "；".join(notes),
        "channel": gettext(CHANNEL_LABELS.get(o.channel, o.channel), locale),
        "tags": " ".join(tags),
        "shipped_at": o.shipped_at,
        "completed_at": o.completed_at,
    }
    lines = [
        {"number": o.number, "name": i.name, "spec": i.spec or "", "sku": i.sku or "", "quantity": i.quantity,
         "unit_price": i.unit_price, "amount": i.amount, "status": status}
        for i in items
    ]  # fmt: skip
    return order, lines
