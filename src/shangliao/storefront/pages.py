"""The customer's pages (phones first): the chat with the shop, a product's share page, an order.

They are public pages: anyone may open them, and the visitor cookie, when the device has one,
says who is looking. The pages are shells around ``/static/shop/shop.js``, which talks to the
shop page API (``storefront.api``, ``storefront.orders_api``) and the socket; the order page is rendered
whole on the server so it reads without script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from shangliao.auth.access import AccessRule
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_, gettext
from shangliao.core.schemas import PathId
from shangliao.orders.models import Order
from shangliao.payments import checkout
from shangliao.realtime.feed import head_seq
from shangliao.shops.service import access_shop_by_slug
from shangliao.storefront import orders as go
from shangliao.storefront import quotes
from shangliao.storefront.visitors import VISITOR_COOKIE, Guest, guest_contact, guest_for
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

# What the page script shows, translated on the server (the script carries no catalog of its own).
SCRIPT_TEXT = {
    "reconnecting": N_("Reconnecting…"),
    "sending": N_("Sending…"),
    "not_sent": N_("Not sent. Tap to send again."),
    "read": N_("Read"),
    "typing": N_("The shop is typing…"),
    "recalled": N_("A message was recalled"),
    "recall": N_("Recall"),
    "earlier": N_("Earlier messages"),
    "order_request": N_("Order request"),
    "view_order": N_("View order"),
    "track": N_("Track the parcel"),
    "parcel_n": N_("(parcel {n})"),  # an order card's numbers, one parcel after another (shop.js)
    "parcel_separator": N_(", "),
    "confirm_receipt": N_("Confirm receipt"),
    "receipt_done": N_("Thank you! The order is completed."),
    "total": N_("Total"),
    "shipping": N_("Shipping"),
    "discount": N_("Discount"),
    "pay_now": N_("Pay now"),
    "payment_request": N_("Payment for order"),
    "amount_due": N_("Amount due"),
    "quote": N_("Quote"),
    "accept_quote": N_("Accept and order"),
    "sold_out": N_("Sold out"),
    "presale": N_("Presale"),
    "no_products": N_("No products found."),
    "picked": N_("{count} picked"),
    "failed": N_("Something went wrong. Please try again."),
    "file": N_("File"),
    "shop": N_("Shop"),
    "code_sent": N_("If this number can receive text messages, a code is on its way."),
    "in_stock": N_("In stock"),
    "presale_note": N_("Presale: the shop ships it once it arrives"),
    "choose_option": N_("Choose {option}"),
}

# The chip group of a product whose variants carry no option values: one chip per variant.
VARIANT_KEY = ""


def option_choices(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The product page's chip groups (颜色, 尺码 …: one per option, its values in the order the
    variants first use them), and each variant's ``choice`` (option -> value) to match them by.
    Only the variants on offer are there (``public_product`` leaves inactive ones out)."""
    variants = product["variants"]
    # Options no variant on offer gives a value would be a group nobody can pick from.
    names = [*product["options"], *(k for v in variants for k in v["spec"])]
    names = [k for k in dict.fromkeys(names) if any(str(v["spec"].get(k, "")) for v in variants)]
    if not names:
        if len(variants) < 2:
            return []  # nothing to choose
        for v in variants:
            v["choice"] = {VARIANT_KEY: str(v["id"])}
        values = [{"value": str(v["id"]), "label": v["spec_label"] or product["name"]} for v in variants]
        return [{"key": VARIANT_KEY, "name": gettext("Choose"), "values": values}]
    for v in variants:
        v["choice"] = {name: str(v["spec"].get(name, "")) for name in names}
    groups = []
    for name in names:
        seen = dict.fromkeys(v["choice"][name] for v in variants if v["choice"][name])
        groups.append({"key": name, "name": name, "values": [{"value": x, "label": x} for x in seen]})
    return groups


@dataclass(frozen=True)
class ShopInfo:
    id: int
    slug: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Visit:
    """Which shop's page this is (None: no such shop) and who is looking (None: a new device)."""

    shop: ShopInfo | None
    guest: Guest | None


def shop_visit():
    """Anyone may open a shop page; the device's visitor cookie, if any, says who it is."""

    def read_visit(request: Request, shop: str) -> Visit:
        rt = request.app.state.runtime
        with rt.db.read() as session:
            try:
                row = access_shop_by_slug(session, shop)
            except NotFound:
                return Visit(None, None)
            guest = guest_for(session, row.id, request.cookies.get(VISITOR_COOKIE))
            return Visit(ShopInfo(row.id, row.slug, row.name, row.timezone), guest)

    read_visit.access = AccessRule("public")  # type: ignore[attr-defined]
    return read_visit


def _not_found(request: Request, shop: ShopInfo | None, message: str) -> HTMLResponse:
    return render(request, "shop/not_found.html", 404, shop=shop, message=gettext(message))


def _page(request: Request, template: str, visit: Visit, **context: Any) -> HTMLResponse:
    assert visit.shop is not None
    # The same for every device nobody vouched for, whether or not its number was a customer's
    # already: the page must not tell a stranger who typed a number whose it is.
    unproved = visit.guest is not None and not visit.guest.verified
    sms = bool(request.app.state.runtime.settings.sms_gateway.strip())  # codes can be texted
    config = {
        "shop": visit.shop.slug,
        "known": visit.guest is not None,
        "unproved": unproved,
        "text": {key: gettext(msg) for key, msg in SCRIPT_TEXT.items()},
        "status": {key: gettext(msg) for key, msg in go.CUSTOMER_STATUS.items()},
        **context.pop("config", {}),
    }
    response = render(
        request,
        template,
        shop=visit.shop,
        known=visit.guest is not None,
        unproved=unproved,
        sms=sms,
        config=config,
        **context,
    )
    # Each page is drawn for the device behind the cookie (its name, phone, addresses, orders): no
    # shared cache may keep one, nor the browser's history show it to the next person at the phone.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/s/{shop}", response_class=HTMLResponse)
def chat_page(request: Request, visit: Visit = Depends(shop_visit())):
    """The chat with the shop: introduce yourself once, then talk, pick products, follow orders."""
    if visit.shop is None:
        return _not_found(request, None, N_("This shop does not exist."))
    rt = request.app.state.runtime
    with rt.db.read() as session:
        # Read before the page loads its messages: the socket replays from here, so whatever
        # happens between the two is seen twice (and shown once), never missed.
        event_seq = head_seq(session, visit.shop.id)
    return _page(request, "shop/chat.html", visit, config={"event_seq": event_seq})


@router.get("/s/{shop}/p/{token}", response_class=HTMLResponse)
def product_page(request: Request, token: str, visit: Visit = Depends(shop_visit())):
    """A product's share page: choose the option and quantity, give the address, order."""
    if visit.shop is None:
        return _not_found(request, None, N_("This shop does not exist."))
    rt = request.app.state.runtime
    try:
        with rt.db.read() as session:
            product = go.public_product(go.access_product_by_token(session, visit.shop.id, token[:64]))
            # Who this device said it is fills the receiver: the phone is asked once, in the chat.
            contact = guest_contact(session, rt.keyring, visit.guest) if visit.guest else None
            addresses = go.offered_addresses(session, rt.keyring, visit.guest) if visit.guest else []
            # 下单成功 links to the order page's how-to-pay block when the shop takes payments online.
            pays = bool(checkout.offered_kinds(session, visit.shop.id))
    except NotFound:
        return _not_found(request, visit.shop, N_("This product is not on sale."))
    choices = option_choices(product)
    return _page(
        request,
        "shop/product.html",
        visit,
        product=product,
        choices=choices,
        contact=contact,
        addresses=addresses,
        config={"product": product, "pays": pays},
    )


@router.get("/s/{shop}/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: PathId, visit: Visit = Depends(shop_visit())):
    """One of your orders with its public timeline, and "confirm receipt" once it is shipped."""
    if visit.shop is None:
        return _not_found(request, None, N_("This shop does not exist."))
    if visit.guest is None:
        return _not_found(request, visit.shop, N_("Open this order on the phone you ordered with."))
    rt = request.app.state.runtime
    try:
        with rt.db.read() as session:
            order: Order = go.access_guest_order(session, visit.guest, order_id)
            shown = go.public_order(order, rt.keyring)
            timeline = go.public_timeline(session, order)
            sent_parcels = go.parcels.public_parcels(session, order)  # shop/_delivery.html
            pay = checkout.how_to_pay(
                session, order, public_base_url=rt.settings.public_base_url
            )  # shop/_pay.html, pay.js
    except NotFound:
        return _not_found(request, visit.shop, N_("No such order."))
    return _page(
        request,
        "shop/order.html",
        visit,
        order=shown,
        timeline=timeline,
        pay=pay,
        status_text=gettext(go.CUSTOMER_STATUS[shown["status"]]),
        customer_status=go.CUSTOMER_STATUS,
        aftersale_steps=go.AFTERSALE_STEPS,
        sent_parcels=sent_parcels,
        config={"order_id": shown["id"]},
    )


@router.get("/s/{shop}/quotes/{message_id}", response_class=HTMLResponse)
def quote_page(request: Request, message_id: PathId, visit: Visit = Depends(shop_visit())):
    """A quote the shop sent: its lines and total, the address, and "place the order" (or, once
    accepted, the order it became)."""
    if visit.shop is None:
        return _not_found(request, None, N_("This shop does not exist."))
    if visit.guest is None:
        return _not_found(request, visit.shop, N_("Open this quote on the phone you chat with the shop on."))
    rt = request.app.state.runtime
    try:
        with rt.db.read() as session:
            message = quotes.access_quote(session, visit.guest, message_id)
            quote = quotes.public_quote(message)
            accepted = quotes.accepted_order(session, visit.guest, message)
            accepted = go.public_order(accepted, rt.keyring) if accepted else None
            contact = guest_contact(session, rt.keyring, visit.guest)
            addresses = go.offered_addresses(session, rt.keyring, visit.guest)
            pays = bool(checkout.offered_kinds(session, visit.shop.id))
    except NotFound:
        return _not_found(request, visit.shop, N_("No such quote."))
    return _page(
        request,
        "shop/quote.html",
        visit,
        quote=quote,
        accepted=accepted,
        contact=contact,
        addresses=addresses,
        config={"quote_id": quote["id"], "pays": pays},
    )
