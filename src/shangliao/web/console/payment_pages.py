"""An order's money in the console: its payments and refunds, the customer's payment proofs, and the
forms that record a payment by hand or from a proof, dismiss a proof, or record a refund.

The section (``orders/_payments_section.html``) is drawn on its own, under the order page and under
each order of the inbox's panel (``orders/_payments.html`` holds its place; static/console/payments.js
loads it and draws it again when the order's money moves). Every form answers with the section as
it is after the change; the use cases decide and explain a refusal (shown in the page's toast).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.orders import actions
from shangliao.orders.models import Order
from shangliao.orders.refund_api import money_of
from shangliao.orders.refund_method import METHODS, paid_with
from shangliao.orders.timeline import access_order
from shangliao.payments import proofs
from shangliao.payments.methods import enabled_methods
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, yuan_to_fen
from shangliao.web.console.order_pages import PAYMENT_STATUSES
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)

# A shop's configured payment method (payments/models.py METHOD_KINDS) as a recording method.
_KIND_METHOD = {"wechat": "wechat", "alipay": "alipay", "bank": "bank_transfer"}
SOURCES = {
    "manual": N_("By hand"),
    "proof": N_("From a payment proof"),
    "provider": N_("Provider notification"),
}
PROOF_STATUSES = {
    "pending": N_("Waiting for review"),
    "recorded": N_("Recorded"),
    "dismissed": N_("Dismissed"),
}
_MAX_TEXT = {"reference": 64, "note": 200, "reason": 200}


def method_choices(session: Session, shop_id: int, paid: str | None = None) -> list[tuple[str, str]]:
    """The shop's enabled methods first (what its customers pay with), then cash and other; the
    method the order was ``paid`` with is offered even when the shop no longer takes it."""
    enabled = [_KIND_METHOD[m.kind] for m in enabled_methods(session, shop_id) if m.kind in _KIND_METHOD]
    ordered = [*dict.fromkeys([*enabled, *([paid] if paid in METHODS else [])]), "cash", "other"]
    return [(m, METHODS[m]) for m in ordered]


def _section_context(session: Session, actor: Actor, order: Order) -> dict[str, Any]:
    money = money_of(session, order)
    open_order = order.archived_at is None
    payable = open_order and order.status not in ("draft", "cancelled")
    paid = paid_with(session, order)
    return {
        "order": order,
        "money": money,
        "proofs": [proofs.proof_dict(p) for p in proofs.proofs_of(session, order)],
        "methods": method_choices(session, order.shop_id, paid),
        # A refund goes back the way the money came: its form proposes the latest payment's method.
        "refund_method": paid,
        "method_labels": METHODS,
        "source_labels": SOURCES,
        "proof_labels": PROOF_STATUSES,
        "payment_labels": dict(PAYMENT_STATUSES),
        "can_record": payable and money["outstanding"] > 0 and "payments.record" in actor.permissions,
        "can_refund": open_order and money["refundable"] > 0 and "payments.refund" in actor.permissions,
        # A proof's screenshot is evidence of the order: whoever reads the order sees it (orders/evidence.py).
        "sees_photos": True,
    }


def _section(request: Request, rt: Runtime, actor: Actor, order_id: int, message: str | None = None):
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        context = _section_context(session, actor, order)
        return render(request, "orders/_payments_section.html", message=message, **context)


def _change(request: Request, rt: Runtime, actor: Actor, order_id: int, change, done: str):
    """``change(session, order)`` under the order's lock in one unit; then the section again."""
    try:
        with rt.db.write() as session:
            change(session, access_order(session, actor, order_id, lock=True))
    except StaleDataError as exc:
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        ) from exc
    return _section(request, rt, actor, order_id, message=done)


@router.get("/orders/{order_id}/money")
def money_section(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    return _section(request, rt, actor, order_id)


# --- reading the forms ----------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()[: _MAX_TEXT.get(name, 200)]


def _amount(form: FormData) -> int:
    amount = yuan_to_fen(str(form.get("amount") or ""), "amount")
    if not amount:
        raise Invalid("console.amount_required", N_("Write the amount received, more than zero."))
    return amount


def _method(form: FormData) -> str:
    method = _text(form, "method")
    if method not in METHODS:
        raise Invalid("console.unknown_method", N_("Choose how the money was paid."))
    return method


def _when(form: FormData, timezone: str, field: str) -> datetime | None:
    """A ``datetime-local`` field, read in the reader's time zone; blank is now."""
    typed = _text(form, field)
    if not typed:
        return None
    try:
        return datetime.fromisoformat(typed).replace(tzinfo=ZoneInfo(timezone))
    except ValueError:
        raise Invalid("console.bad_time", N_("Write the time like 2026-01-05 14:30.")) from None


def _payment(form: FormData, actor: Actor) -> dict[str, Any]:
    return {
        "method": _method(form),
        "amount": _amount(form),
        "reference": _text(form, "reference"),
        "note": _text(form, "note"),
        "paid_at": _when(form, actor.timezone, "paid_at"),
    }


# --- the forms ------------------------------------------------------------------------------------


@router.post("/orders/{order_id}/money/payments")
async def record_payment(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
):
    """收款: money received outside Shangliao; partial payments add up."""
    payment = _payment(await read_form(request), actor)

    def pay(session, order):
        actions.do_mark_paid(session, actor, order, **payment)

    return await in_thread(_change, request, rt, actor, order_id, pay, done=N_("Payment recorded."))


@router.post("/orders/{order_id}/money/proofs/{proof_id}/record")
async def record_proof(
    order_id: PathId,
    proof_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
):
    """The payment a proof shows, in one step: recorded, and the proof linked to it."""
    payment = _payment(await read_form(request), actor)

    def record(session, order):
        proof = proofs.access_proof(session, order, proof_id, lock=True)
        proofs.do_record_from_proof(session, actor, order, proof, **payment)

    return await in_thread(_change, request, rt, actor, order_id, record, done=N_("Payment recorded."))


@router.post("/orders/{order_id}/money/proofs/{proof_id}/dismiss")
async def dismiss_proof(
    order_id: PathId,
    proof_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
):
    """The money is not there: the customer reads why and may send another proof."""
    reason = _text(await read_form(request), "reason")

    def dismiss(session, order):
        proof = proofs.access_proof(session, order, proof_id, lock=True)
        proofs.do_dismiss_proof(session, actor, order, proof, reason)

    return await in_thread(_change, request, rt, actor, order_id, dismiss, done=N_("Proof dismissed."))


@router.post("/orders/{order_id}/money/refunds")
async def record_refund(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
):
    """退款: money given back by hand, at most what was paid and not yet refunded."""
    form = await read_form(request)
    refund = {
        "method": _method(form),
        "amount": _amount(form),
        "reference": _text(form, "reference"),
        "note": _text(form, "note"),
        "refunded_at": _when(form, actor.timezone, "refunded_at"),
    }

    def give_back(session, order):
        actions.do_refund(session, actor, order, **refund)

    return await in_thread(_change, request, rt, actor, order_id, give_back, done=N_("Refund recorded."))
