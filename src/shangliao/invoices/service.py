"""Invoice requests (发票): the customer asks (or staff ask for them), staff mark it issued or cancel it.

An order has at most one open request (requested or issued); ``Order.invoice_status`` mirrors it
(None, "requested", "issued") for the order list's filter. Each step is on the order's timeline and
in the event log with ids, statuses and amounts only: the email is personal data (sealed here, never
in timeline data or events, rule 12 of docs/architecture.md). The caller locks the order
(``access_order(..., lock=True)`` or ``access_guest_order(..., lock=True)``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel
from shangliao.customers.masking import FULL, PiiView, view_for
from shangliao.invoices.models import InvoiceRequest
from shangliao.orders.models import Order
from shangliao.orders.state import Status
from shangliao.orders.timeline import check_not_archived, record_change

EMAIL_CONTEXT = b"invoice_requests.email"
MANAGE = "invoices.manage"
# A unified social credit code is 18 characters, older taxpayer ids 15 to 20: digits and capitals.
TAX_ID_RE = re.compile(r"^[0-9A-Z]{15,20}$")
# Enough to refuse a typo (no @, no domain, spaces); the mailbox itself is the customer's business.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
NUMBER_RE = re.compile(r"^[0-9A-Za-z-]{1,40}$")
# Orders that may carry an invoice request: not a draft nobody placed, not a cancelled order.
_NOT_INVOICEABLE = frozenset({Status.DRAFT.value, Status.CANCELLED.value})

TitleType = Literal["personal", "company"]


class InvoiceIn(StrictModel):
    """申请发票: a personal or company title; a company gives its tax id; the invoice goes to the email."""

    title_type: TitleType
    title: str = Field(min_length=1, max_length=100)
    tax_id: str = Field(
        "", max_length=20, description="Company titles only: 15–20 digits and capital letters."
    )
    email: str = Field(min_length=3, max_length=254)


class IssueIn(StrictModel):
    """开票: the invoice's number and when it was issued (now unless given, with a zone)."""

    invoice_number: str = Field(min_length=1, max_length=40)
    issued_at: AwareDatetime | None = None


def check_request(body: InvoiceIn) -> tuple[str, str, str | None, str]:
    """``(title_type, title, tax_id or None, email)`` normalised, or a refusal naming the field."""
    tax_id = body.tax_id.replace(" ", "").upper()
    if body.title_type == "company":
        if not tax_id:
            raise Invalid(
                "invoice.tax_id_required",
                N_("A company title needs its tax id."),
                details={"field": "tax_id"},
            )
        if not TAX_ID_RE.match(tax_id):
            raise Invalid(
                "invoice.bad_tax_id",
                N_("A tax id is 15 to 20 digits and capital letters."),
                details={"field": "tax_id"},
            )
    elif tax_id:
        raise Invalid(
            "invoice.tax_id_personal",
            N_("A personal title has no tax id; leave it empty."),
            details={"field": "tax_id"},
        )
    if not EMAIL_RE.match(body.email):
        raise Invalid(
            "invoice.bad_email",
            N_("Give an email address the invoice can be sent to."),
            details={"field": "email"},
        )
    return body.title_type, body.title, tax_id or None, body.email


def check_number(number: str) -> str:
    if not NUMBER_RE.match(number):
        raise Invalid(
            "invoice.bad_number",
            N_("An invoice number is letters, digits and dashes."),
            details={"field": "invoice_number"},
        )
    return number


def current_request(session: Session, order: Order) -> InvoiceRequest | None:
    """The order's open request (requested or issued), if any."""
    return session.scalar(
        select(InvoiceRequest).where(
            InvoiceRequest.order_id == order.id,
            InvoiceRequest.shop_id == order.shop_id,
            InvoiceRequest.status != "cancelled",
        )
    )


def _not_requested() -> Conflict:
    return Conflict("invoice.not_requested", N_("No invoice was requested for this order."))


def _already_issued() -> Conflict:
    return Conflict("invoice.already_issued", N_("The invoice was issued already and can no longer change."))


def _record(session: Session, order: Order, actor: Actor | None, kind: str, row: InvoiceRequest, **data: Any):
    """The timeline row and event of an invoice step: ids, statuses, the number and amount, never
    the email (rule 12 of docs/architecture.md)."""
    facts = {"invoice_id": row.id, "invoice_status": row.status, **data}
    record_change(
        session,
        order,
        actor,
        kind,
        data={"title_type": row.title_type, **facts},
        event_data={**facts, "assignee_id": order.assignee_id},
    )


def fully_refunded(order: Order) -> bool:
    """Everything paid went back: there is nothing left to invoice."""
    return order.refunded_amount > 0 and order.paid_amount - order.refunded_amount <= 0


def _fully_refunded() -> Conflict:
    return Conflict(
        "invoice.fully_refunded", N_("This order was fully refunded, so there is nothing to invoice.")
    )


def do_request(
    session: Session, keyring: Keyring, actor: Actor, order: Order, body: InvoiceIn
) -> InvoiceRequest:
    """Ask for the order's invoice, or change the request until it is issued. ``actor`` is the
    customer themselves (the shop page) or staff entering it on their behalf."""
    title_type, title, tax_id, email = check_request(body)
    check_not_archived(order)
    if order.status in _NOT_INVOICEABLE:
        raise Conflict("invoice.order_not_open", N_("This order cannot have an invoice."))
    row = current_request(session, order)
    if row is not None and row.status == "issued":
        raise _already_issued()
    if fully_refunded(order):
        raise _fully_refunded()
    by = "customer" if actor.actor_type == "customer" else "staff"
    email_enc = keyring.encrypt(email.encode(), EMAIL_CONTEXT)
    if row is None:
        row = InvoiceRequest(shop_id=order.shop_id, order_id=order.id, requested_by=by, status="requested")
        session.add(row)
        kind = "invoice_requested"
    else:
        kind = "invoice_updated"
    row.title_type, row.title, row.tax_id, row.email_enc = title_type, title, tax_id, email_enc
    row.updated_at = clock.now()
    order.invoice_status = "requested"
    session.flush()
    _record(session, order, actor, kind, row, by=by)
    return row


def do_issue(
    session: Session, actor: Actor, order: Order, number: str, issued_at: datetime | None = None
) -> InvoiceRequest:
    """开票: mark the request issued with its number; the amount is what the customer paid less
    what was refunded, as it stands now."""
    number = check_number(number)
    check_not_archived(order)
    row = current_request(session, order)
    if row is None:
        raise _not_requested()
    if row.status == "issued":
        raise _already_issued()
    amount = order.paid_amount - order.refunded_amount
    if fully_refunded(order):
        raise _fully_refunded()
    if amount <= 0:
        raise Conflict(
            "invoice.nothing_paid", N_("Nothing is paid on this order yet, so there is nothing to invoice.")
        )
    row.status, row.invoice_number, row.amount = "issued", number, amount
    row.issued_at = issued_at or clock.now()
    row.issued_by = actor.staff_id
    row.updated_at = clock.now()
    order.invoice_status = "issued"
    session.flush()
    _record(session, order, actor, "invoice_issued", row, invoice_number=number, amount=amount)
    return row


def do_cancel(session: Session, actor: Actor, order: Order) -> InvoiceRequest:
    """Cancel the open request (an issued invoice too, once it was voided outside Shangliao); the
    row stays as evidence and the customer may ask again."""
    row = current_request(session, order)
    if row is None:
        raise _not_requested()
    was = row.status
    row.status, row.cancelled_at, row.updated_at = "cancelled", clock.now(), clock.now()
    order.invoice_status = None
    session.flush()
    _record(session, order, actor, "invoice_cancelled", row, was=was)
    return row


def cancel_with_order(session: Session, actor: Actor | None, order: Order) -> InvoiceRequest | None:
    """An order cancelled (orders/actions.py) takes its invoice request still waiting to be issued
    with it, as its own timeline step: nobody must issue an invoice for an order that is over. An
    issued invoice stays: voiding it (红冲) happens outside Shangliao, then staff cancel it here."""
    row = current_request(session, order)
    if row is None or row.status != "requested":
        return None
    row.status, row.cancelled_at, row.updated_at = "cancelled", clock.now(), clock.now()
    order.invoice_status = None
    session.flush()
    _record(session, order, actor, "invoice_cancelled", row, was="requested", by="order_cancelled")
    return row


# --- how a request reads ---------------------------------------------------------------------------


def open_email(keyring: Keyring, row: InvoiceRequest) -> str | None:
    """The email in the clear; None once the customer was erased."""
    return keyring.decrypt(row.email_enc, EMAIL_CONTEXT).decode() if row.email_enc else None


def reader_view(actor: Actor | None) -> PiiView:
    """How ``actor`` reads a request's email and tax id. Purpose-bound (docs/architecture.md,
    "Personal data on a need-to-know basis"): a member who issues invoices sends the invoice to
    that email with that tax id on it, so ``invoices.manage`` reads both in full; anyone else as
    ``masking.view_for`` says (masked without ``customers.pii``, or until 显示)."""
    if actor is not None and MANAGE in actor.permissions:
        return FULL
    return view_for(actor)


def invoice_dict(keyring: Keyring, row: InvoiceRequest | None, view: PiiView) -> dict[str, Any] | None:
    """A request as staff read it (email and tax id through the reader's ``view``), or the
    customer (``FULL``: their own data)."""
    if row is None:
        return None
    return {
        "id": row.id,
        "order_id": row.order_id,
        "status": row.status,
        "title_type": row.title_type,
        "title": row.title,
        "tax_id": view.tax_id(row.tax_id),
        "email": view.email(open_email(keyring, row)),
        "requested_by": row.requested_by,
        "invoice_number": row.invoice_number,
        "issued_at": row.issued_at,
        "amount": row.amount,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def requests_of(session: Session, keyring: Keyring, order: Order) -> list[dict[str, Any]]:
    """Every request of the order, cancelled ones too, in full: the customer's data export."""
    rows = session.scalars(
        select(InvoiceRequest)
        .where(InvoiceRequest.order_id == order.id, InvoiceRequest.shop_id == order.shop_id)
        .order_by(InvoiceRequest.id)
    )
    return [
        {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in invoice_dict(keyring, row, FULL).items()
        }
        for row in rows
    ]


def erase_requests(session: Session, shop_id: int, order_ids: list[int], placeholder: str) -> int:
    """An erased customer's requests (privacy/erase.py): the email goes, a personal title (their
    name) becomes ``placeholder``; a company's title and tax id stay with the tax document."""
    if not order_ids:
        return 0
    where = (InvoiceRequest.shop_id == shop_id, InvoiceRequest.order_id.in_(order_ids))
    emails = session.execute(
        update(InvoiceRequest)
        .where(*where, InvoiceRequest.email_enc.is_not(None))
        .values(email_enc=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(InvoiceRequest)
        .where(*where, InvoiceRequest.title_type == "personal")
        .values(title=placeholder)
        .execution_options(synchronize_session=False)
    )
    return emails
