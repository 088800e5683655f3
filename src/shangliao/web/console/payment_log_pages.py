"""The console's 支付通知 page: every notification the shop's provider URLs received and what
became of it, newest first, filtered by outcome, for holders of ``payments.record`` (linked from
the settings hub). The rows are the API's (``GET /api/v1/payment-notifications``), in words."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import N_
from shangliao.payments.models import NOTIFICATION_OUTCOMES
from shangliao.payments.notifications import list_notifications
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

OUTCOMES = {
    "applied": N_("Applied"),
    "duplicate": N_("Already applied"),
    "bad_signature": N_("Signature refused"),
    "stale": N_("Too old"),
    "mismatch": N_("Not what was asked (alerted)"),
    "unknown_trade": N_("Unknown trade number"),
    "malformed": N_("Unreadable"),
    "ignored": N_("Not paid (nothing to do)"),
}
PROVIDERS = {"wechat": N_("WeChat Pay"), "alipay": N_("Alipay"), "gateway": N_("Payment gateway")}
REASONS = {
    "notify.amount_mismatch": N_("The amount is not the one asked for"),
    "notify.currency_mismatch": N_("The currency is not the one asked for"),
    "notify.mchid_mismatch": N_("Another merchant number (mchid)"),
    "notify.appid_mismatch": N_("Another app (appid)"),
    "notify.app_id_mismatch": N_("Another app (app_id)"),
    "notify.seller_id_mismatch": N_("Another seller (seller_id)"),
    "notify.exceeds_outstanding": N_("More than the order still owes"),
    "notify.exceeds_refundable": N_("More than can be refunded"),
    "notify.order_not_payable": N_("The order is a draft, cancelled or archived"),
    "notify.attempt_already_paid": N_("This trade number was already paid by another transaction"),
    "notify.method_not_configured": N_("This payment method is not set up"),
    "notify.unknown_serial": N_("Unknown platform certificate serial"),
}
PAGE = 50


@router.get("/payments/notifications")
def payment_log_page(
    request: Request, actor: Actor = Depends(staff("payments.record")), rt: Runtime = Depends(get_runtime)
):
    # An unknown outcome or cursor in the address is "all" and "the first page", not an error page.
    outcome = request.query_params.get("outcome")
    outcome = outcome if outcome in NOTIFICATION_OUTCOMES else None
    before = request.query_params.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    with rt.db.read() as session:
        rows, next_before = list_notifications(session, actor, outcome=outcome, before=before_id, limit=PAGE)
    query = {"outcome": outcome} if outcome else {}
    older = f"/payments/notifications?{urlencode({**query, 'before': next_before})}" if next_before else None
    return render(
        request,
        "payments/notifications.html",
        section="settings",
        rows=rows,
        older=older,
        outcome=outcome or "",
        outcomes=OUTCOMES,
        providers=PROVIDERS,
        reasons=REASONS,
    )
