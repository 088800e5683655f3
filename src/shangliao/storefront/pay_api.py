"""How the customer pays one of their orders, over HTTP (``/s/{shop}/api/orders/{id}/pay…``): the
how-to-pay view, and a native QR asked of WeChat Pay or Alipay.

The rules live in ``payments.checkout``; these routes resolve the visitor (their own orders only,
another's is 404), open the units and make the outbound call between them, on the threadpool and
outside the writer (rule 16 of docs/architecture.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query

from shangliao.core.schemas import PathId
from shangliao.payments import checkout, native
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.storefront import orders as go
from shangliao.storefront.api import check_customer_rate, shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.responses import JSONResponse

router = shop_page_router()

# Native QR requests per customer of a shop: each may cost a provider call, so a few a minute is
# plenty for someone switching between WeChat Pay and Alipay, and a script is cut off early.
QR_REQUESTS = ("10/minute", "60/hour")
NativeMethod = Annotated[Literal["wechat", "alipay"], Path(description="wechat or alipay")]
# A payment-request card asks for part of what is owed: the card's amount (fen) rides along.
Asked = Annotated[
    int | None,
    Query(
        ge=1,
        le=100_000_000,
        description="A payment request's amount in fen; omitted, or more than is owed now: all that is owed.",
    ),
]
# What the provider shows the customer as the item paid for (WeChat allows 127 bytes).
DESCRIPTION_CHARS = 40


@router.get("/orders/{order_id}/pay")
def how_to_pay(
    shop: str,
    order_id: PathId,
    amount: Asked = None,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """How to pay one of your orders: what is owed, what to pay now (`amount`), the shop's ways of
    paying (bank details with the order number for the transfer note, 收款码 images, native QR),
    none once it is paid."""
    with rt.db.read() as session:
        order = go.access_guest_order(session, guest, order_id)
        return JSONResponse(checkout.how_to_pay(session, order, amount, rt.settings.public_base_url))


@router.post("/orders/{order_id}/pay/{method}")
def pay_native(
    shop: str,
    order_id: PathId,
    method: NativeMethod,
    amount: Asked = None,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """A QR to pay what is still owed (or a payment request's `amount` of it) with WeChat Pay or
    Alipay, drawn here from the provider's ``code_url``. Asking again shows the same code while it
    is good for the same amount."""
    check_customer_rate(rt, guest, "pay_qr", QR_REQUESTS)
    checkout.require_public_base(rt.settings, method)
    with rt.db.write() as session:
        order = go.access_guest_order(session, guest, order_id, lock=True)
        opened = checkout.do_open_attempt(session, rt.keyring, order, method, amount)
        shop_row = session.get(Shop, guest.shop_id)
        description = f"{shop_row.name} {order.number}"[:DESCRIPTION_CHARS]
        slug = shop_row.slug
    if opened.code_url is not None:
        return JSONResponse(checkout.attempt_out(opened, opened.code_url))
    notify = checkout.notify_url(rt.settings, slug, method)
    code_url, error = None, None
    try:
        code_url = checkout.ask_provider(rt.settings, opened, description, notify)
    except native.ProviderError as exc:
        error = exc.reason
    with rt.db.write() as session:
        shown = checkout.do_settle_attempt(session, guest.shop_id, opened.attempt_id, code_url, error)
    if not shown or code_url is None:
        raise checkout.qr_unavailable()
    return JSONResponse(checkout.attempt_out(opened, code_url))
