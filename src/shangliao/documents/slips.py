"""Packing slips (发货单): one A4 page per order for the packer, in the order they were asked for.

Each slip names the shop, carries the order number as a Code 128 barcode and a QR code (a scanner
or a phone finds the order from the parcel), the recipient, the items with their specification and
quantity (and, for an order already partly sent, how many of each still go), the buyer's note and
the team's notes. No prices: a parcel may be a gift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shangliao.auth.scope import Viewer, within_scope
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_, gettext
from shangliao.customers.masking import PiiView
from shangliao.customers.pii import address_dict, region_parts
from shangliao.documents import pdf
from shangliao.orders.couriers import courier_name
from shangliao.orders.models import Order, OrderNote
from shangliao.orders.state import STATUS_LABELS, Status
from shangliao.shipping.parcels import remaining_by_line, shipped_by_line

# One request prints at most this many (a bulk bar's batch): a few seconds of drawing, a few MB.
MAX_SLIPS = 200

TITLE = N_("Packing slip")
FOOTER = N_("{shop} · Packing slip · printed {at} · page {page}")
ORDER_NUMBER = N_("Order number")
ORDER_TIME = N_("Order time")
ORDER_STATUS = N_("Order status")
BUYER = N_("Buyer")
RECEIVER = N_("Receiver")
PHONE = N_("Phone")
ADDRESS = N_("Address")
NO_ADDRESS = N_("No delivery address yet")
ITEMS = N_("Items")
NUMBER_SIGN = N_("No.")
PRODUCT = N_("Product")
SPEC = N_("Specification")
SKU = N_("SKU")
QUANTITY = N_("Quantity")
STILL_TO_SHIP = N_("Still to ship")
TOTAL_PIECES = N_("{n} pieces in all")
BUYER_NOTE = N_("Buyer's message")
MERCHANT_NOTES = N_("Merchant notes")
SHIPPED_WITH = N_("Shipped with")
NONE = N_("None")


@dataclass(frozen=True)
class Line:
    name: str
    spec: str
    sku: str
    quantity: int
    remaining: int | None  # None: nothing of the order has left yet


@dataclass(frozen=True)
class Slip:
    number: str
    created_at: datetime
    status: str
    buyer: str
    address: dict[str, str] | None
    lines: list[Line]
    remark: str
    notes: list[str]
    shipped_with: str  # courier and tracking number of what left already, or ""


def check_count(ids: Sequence[int]) -> list[int]:
    """The ids once each, in the order given; none or too many is refused before anything is read."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise Invalid("documents.no_orders", N_("Pick at least one order to print."))
    if len(unique) > MAX_SLIPS:
        raise Invalid(
            "documents.too_many_orders",
            N_("At most {max} orders can be printed at once; {n} were asked for."),
            max=MAX_SLIPS,
            n=len(unique),
            details={"max": MAX_SLIPS, "asked": len(unique)},
        )
    return unique


def slips_of(
    session: Session, keyring: Keyring, who: Viewer, ids: Sequence[int], view: PiiView, locale: str
) -> list[Slip]:
    """The slips of ``ids`` (checked by :func:`check_count`) in that order. Every one must be the
    shop's and in ``who``'s data scope: one that is not (another shop's, a colleague's, none at
    all) fails the whole request as not found, so nothing is printed and nothing tells which."""
    orders = {
        o.id: o
        for o in session.scalars(
            select(Order)
            .where(Order.shop_id == who.shop_id, Order.id.in_(ids), *within_scope(who, Order.assignee_id))
            .options(selectinload(Order.items))
        )
    }
    if len(orders) != len(ids):
        raise NotFound("order.not_found", N_("No such order."))
    notes: dict[int, list[str]] = {i: [] for i in ids}
    for order_id, body in session.execute(
        select(OrderNote.order_id, OrderNote.body)
        .where(OrderNote.shop_id == who.shop_id, OrderNote.order_id.in_(ids))
        .order_by(OrderNote.id)
    ):
        notes[order_id].append(body)
    return [_slip(session, keyring, orders[i], notes[i], view, locale) for i in ids]


def _slip(
    session: Session, keyring: Keyring, order: Order, notes: list[str], view: PiiView, locale: str
) -> Slip:
    # Only an order with a parcel gone reads its parcels: most slips cost no query of their own.
    remaining = remaining_by_line(order, shipped_by_line(session, order)) if order.parcels_shipped else None
    shipped_with = ""
    if order.tracking_number:
        shipped_with = f"{courier_name(order.carrier_code, locale) or ''} {order.tracking_number}".strip()
    return Slip(
        number=order.number,
        created_at=order.created_at,
        status=gettext(STATUS_LABELS[Status(order.status)], locale),
        buyer=order.customer_name or "",  # a name is no address: shown as the order page shows it
        address=view.address(address_dict(keyring, order.address_enc)) if order.address_enc else None,
        lines=[
            Line(i.name, i.spec or "", i.sku or "", i.quantity, remaining[i.id] if remaining else None)
            for i in order.items
        ],
        remark=order.remark or "",
        notes=notes,
        shipped_with=shipped_with,
    )


def render(slips: list[Slip], *, shop_name: str, timezone: str, locale: str) -> bytes:
    """The slips as one PDF, a page (or more, for a long list of items) per order."""
    story: list[Flowable] = []
    for n, slip in enumerate(slips):
        if n:
            story.append(PageBreak())
        story += _page(slip, shop_name, timezone, locale)
    printed = clock.local(clock.now(), timezone).strftime("%Y-%m-%d %H:%M")
    return pdf.render(
        story,
        title=gettext(TITLE, locale),
        author=shop_name,
        lang=locale,
        footer=lambda page: gettext(FOOTER, locale, shop=shop_name, at=printed, page=page),
    )


def _page(slip: Slip, shop_name: str, timezone: str, locale: str) -> list[Flowable]:
    def say(message: str, **params: object) -> str:
        return gettext(message, locale, **params)

    s = pdf.styles()
    head = pdf.layout(
        [[[pdf.text(shop_name, s.title), pdf.text(say(TITLE), s.strong), Spacer(1, 2 * mm), pdf.barcode(slip.number)],
          pdf.QrCode(slip.number)]],
        [pdf.WIDTH - 30 * mm, 30 * mm],
        [("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
         ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)],
    )  # fmt: skip
    address = slip.address
    if address:
        region = " ".join(region_parts(address["province"], address["city"], address["district"]))
        where = [
            (say(RECEIVER), address.get("receiver") or ""),
            (say(PHONE), address.get("phone") or ""),
            (say(ADDRESS), f"{region} {address.get('detail') or ''}".strip()),
        ]
    else:
        where = [(say(ADDRESS), say(NO_ADDRESS))]
    about = [
        (say(ORDER_NUMBER), slip.number),
        (say(ORDER_TIME), clock.local(slip.created_at, timezone).strftime("%Y-%m-%d %H:%M")),
        (say(ORDER_STATUS), slip.status),
        (say(BUYER), slip.buyer),
        *where,
    ]
    if slip.shipped_with:
        about.append((say(SHIPPED_WITH), slip.shipped_with))
    partly = any(line.remaining is not None for line in slip.lines)
    header = [say(NUMBER_SIGN), say(PRODUCT), say(SPEC), say(SKU), say(QUANTITY)]
    widths = [10 * mm, 84 * mm, 44 * mm, 30 * mm, 14 * mm]
    if partly:
        header.append(say(STILL_TO_SHIP))
        widths = [10 * mm, 72 * mm, 40 * mm, 28 * mm, 14 * mm, 18 * mm]
    rows = [
        [n, line.name, line.spec, line.sku, line.quantity, *([line.remaining] if partly else [])]
        for n, line in enumerate(slip.lines, 1)
    ]
    pieces = sum(line.quantity for line in slip.lines)
    return [
        head,
        Spacer(1, 4 * mm),
        pdf.fields(about),
        pdf.text(say(ITEMS), s.heading),
        pdf.table([header, *rows], widths, zebra=True),
        Spacer(1, 1.5 * mm),
        pdf.text(say(TOTAL_PIECES, n=pieces), s.body),
        pdf.text(say(BUYER_NOTE), s.heading),
        pdf.text(slip.remark or say(NONE), s.body),
        pdf.text(say(MERCHANT_NOTES), s.heading),
        *([pdf.text(note, s.body) for note in slip.notes] or [pdf.text(say(NONE), s.body)]),
    ]
