"""How the customer pays an order: the public how-to-pay view (the shop's enabled methods as a
customer may see them) and native QR attempts.

The view is an allow-list like ``storefront/orders.py``: static 收款码 images, the bank account with
the amount and the order number to write in the transfer note, and which methods can draw a native
QR (``methods.shop_payment_options``). Merchant ids and keys are opened only to ask a provider.

A native QR is asked in three steps so the provider's answer is never awaited inside the writer
(rule 16 of docs/architecture.md): ``do_open_attempt`` (a unit: the order row locked, an open
attempt of the same amount reused, or the earlier ones closed and a new ``out_trade_no`` taken),
the outbound call (``ask_provider``, no session), and ``do_settle_attempt`` (a unit: the
``code_url`` or the failure recorded on the attempt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.config import Settings
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, NotFound, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.orders.models import Order
from shangliao.orders.payments import next_trade_no, payment_status
from shangliao.orders.state import Status
from shangliao.payments import methods, native
from shangliao.payments.models import PaymentAttempt

# The methods a customer pays through from the order (a gateway has its own checkout page).
CUSTOMER_KINDS = ("wechat", "alipay", "bank")
NATIVE_KINDS = ("wechat", "alipay")
METHOD_LABELS = {kind: methods.LABELS[kind] for kind in CUSTOMER_KINDS}
# How long a native QR stays payable, and how much of that must be left to show it again instead
# of asking the provider for a new one (the customer needs time to open the app and pay).
ATTEMPT_MINUTES = 30
REUSE_MARGIN = timedelta(minutes=5)
NOTIFY_PATH = "/api/v1/providers/{shop}/{kind}"


def qr_unavailable() -> ShangliaoError:
    """The customer is told only to pay another way; the provider's reason stays on the attempt
    (it may name the merchant's account)."""
    return ShangliaoError(
        "payment.qr_unavailable",
        N_("The payment code could not be made right now. Please pay another way."),
        http_status=502,
    )


def method_unavailable(kind: str) -> NotFound:
    return NotFound(
        "payment.method_unavailable",
        N_("The shop does not take this way of paying."),
        details={"method": kind},
    )


def not_payable(order: Order) -> Conflict:
    return Conflict(
        "payment.not_payable",
        N_("This order has nothing to pay now."),
        details={"status": order.status, "outstanding": outstanding(order)},
    )


# --- the public view ---------------------------------------------------------------------------


def outstanding(order: Order) -> int:
    """What is still owed: the total less what was paid (a refund returns money, it owes none)."""
    return max(order.total - order.paid_amount, 0)


def to_pay(order: Order, asked: int | None = None) -> int:
    """What the customer pays now: ``asked`` (a payment-request card's part of what is owed) while
    it is no more than what is owed, else everything owed (the order page; a card whose amount was
    paid meanwhile must not ask for more than the order still needs)."""
    owed = outstanding(order)
    return asked if asked is not None and 0 < asked <= owed else owed


def is_payable(order: Order) -> bool:
    """A draft is not priced yet, a cancelled or archived order is over, a paid one owes nothing."""
    return (
        order.status not in (Status.DRAFT.value, Status.CANCELLED.value)
        and order.archived_at is None
        and outstanding(order) > 0
    )


def customer_options(
    session: Session, shop_id: int, public_base_url: str | None = None
) -> list[dict[str, Any]]:
    """The shop's enabled methods a customer can act on, as the payment settings describe them
    (``methods.shop_payment_options``: kind, label, static_code_url, bank, native)."""
    options = methods.shop_payment_options(session, shop_id, public_base_url=public_base_url)
    return [o for o in options if o["kind"] in CUSTOMER_KINDS]


def how_to_pay(
    session: Session, order: Order, asked: int | None = None, public_base_url: str | None = None
) -> dict[str, Any]:
    """The order's how-to-pay block (the order page, the payment-request card asking for ``asked``):
    nothing to pay once it is paid, so the methods are listed only while something is owed.
    ``amount`` is what the bank transfer and a native QR are for (``to_pay``)."""
    payable = is_payable(order)
    return {
        "order_id": order.id,
        "number": order.number,
        "payable": payable,
        "outstanding": outstanding(order),
        "amount": to_pay(order, asked),
        "paid_amount": order.paid_amount,
        "payment_status": payment_status(order.total, order.paid_amount, order.refunded_amount),
        # What the customer writes in the transfer note so the shop can match the money.
        "transfer_note": order.number,
        "methods": customer_options(session, order.shop_id, public_base_url) if payable else [],
    }


def offered_kinds(session: Session, shop_id: int) -> list[str]:
    """The kinds a payment request offers the customer, kept on the card for the staff's view."""
    return [o["kind"] for o in customer_options(session, shop_id)]


# --- native QR attempts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What ``do_open_attempt`` decided, as plain data (a unit may run twice, rule 1)."""

    attempt_id: int
    out_trade_no: str
    amount: int
    expires_at: datetime
    code_url: str | None  # set when an open attempt was reused: no provider call needed
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)


def _open_attempts(session: Session, order: Order, kind: str) -> list[PaymentAttempt]:
    return list(
        session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.shop_id == order.shop_id,
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.method == kind,
                PaymentAttempt.status == "open",
            )
            .order_by(PaymentAttempt.id)
        )
    )


def _reusable(attempt: PaymentAttempt, amount: int, now: datetime) -> bool:
    return (
        attempt.amount == amount
        and attempt.code_url is not None
        and attempt.expires_at is not None
        and attempt.expires_at > now + REUSE_MARGIN
    )


def do_open_attempt(
    session: Session, keyring: Keyring, order: Order, kind: str, asked: int | None = None
) -> Opened:
    """Take an attempt for what ``order`` (locked by the caller) is paid now (``to_pay``: a card's
    ``asked`` part, or everything owed) through
    ``kind``'s native QR: the open one still good for the same amount, or a new ``out_trade_no``
    after closing the earlier ones (a changed amount or an expired code must not stay payable)."""
    if kind not in NATIVE_KINDS:
        raise method_unavailable(kind)
    row = methods.find_method(session, order.shop_id, kind)
    if row is None or not row.enabled or not methods.native_ready(row):
        raise method_unavailable(kind)
    if not is_payable(order):
        raise not_payable(order)
    amount, now = to_pay(order, asked), clock.now()
    earlier = _open_attempts(session, order, kind)
    reuse = next((a for a in reversed(earlier) if _reusable(a, amount, now)), None)
    if reuse is not None:
        return Opened(reuse.id, reuse.out_trade_no, reuse.amount, reuse.expires_at, reuse.code_url, kind)
    for attempt in earlier:
        attempt.status = "closed"
    secrets_ = methods.open_secrets(keyring, row)
    if not all(secrets_.get(k) for k in methods.NATIVE_NEEDS[kind][1]):
        raise method_unavailable(kind)
    attempt = PaymentAttempt(
        shop_id=order.shop_id,
        order_id=order.id,
        method=kind,
        out_trade_no=next_trade_no(order),
        amount=amount,
        currency="CNY",
        status="open",
        created_at=now,
        expires_at=now + timedelta(minutes=ATTEMPT_MINUTES),
    )
    session.add(attempt)
    session.flush()
    return Opened(
        attempt.id, attempt.out_trade_no, amount, attempt.expires_at, None, kind, dict(row.settings), secrets_
    )


def notify_url(settings: Settings, shop_slug: str, kind: str) -> str:
    """Where the provider notifies: the configured public address only, never the request's Host
    (any caller may send any Host). Without it no native QR is offered (``require_public_base``)."""
    return settings.public_base_url.rstrip("/") + NOTIFY_PATH.format(shop=shop_slug, kind=kind)


def require_public_base(settings: Settings, kind: str) -> None:
    """A native QR needs a notify_url: refused (as an unavailable method) while none is set."""
    if not settings.public_base_url:
        raise method_unavailable(kind)


def ask_provider(settings: Settings, opened: Opened, description: str, notify: str) -> str:
    """The outbound call, outside any unit: the provider's ``code_url`` / ``qr_code``, or
    ``native.ProviderError``."""
    trade = native.TradeRequest(opened.out_trade_no, opened.amount, description, notify, opened.expires_at)
    if opened.kind == "wechat":
        return native.wechat_native(settings.wechatpay_api_base, opened.settings, opened.secrets, trade)
    return native.alipay_precreate(settings.alipay_gateway, opened.settings, opened.secrets, trade)


def do_settle_attempt(
    session: Session, shop_id: int, attempt_id: int, code_url: str | None, error: str | None
) -> bool:
    """Record what the provider answered on the attempt; False when it is no longer open (a newer
    request closed it meanwhile, or it was paid), so its code must not be shown."""
    attempt = session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.shop_id == shop_id, PaymentAttempt.id == attempt_id)
        .with_for_update()
    )
    if attempt is None or attempt.status != "open":
        return False
    if code_url is None:
        attempt.status, attempt.error = "failed", (error or "provider.failed")[: native.ERROR_CHARS]
        return False
    attempt.code_url = code_url
    return True


def qr_svg(text: str) -> str:
    """The QR of ``text`` drawn here (no outside service): an inline SVG sized by its container."""
    return segno.make(text, error="m").svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff")


def attempt_out(opened: Opened, code_url: str) -> dict[str, Any]:
    return {
        "method": opened.kind,
        "out_trade_no": opened.out_trade_no,
        "amount": opened.amount,
        "expires_at": opened.expires_at,
        "code_url": code_url,
        "qr_svg": qr_svg(code_url),
    }
