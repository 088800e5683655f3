"""The order page's 发票 card (``orders/_invoice.html``): enter a request for the customer, mark it
issued with its number and date, cancel it. Each form answers with the order page again, like the
page's other forms (``order_detail_pages.change_order``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.invoices import service
from shangliao.invoices.service import InvoiceIn
from shangliao.orders.listing import shop_moment
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.order_detail_pages import change_order

router = APIRouter(include_in_schema=False)


def _request_from_form(title_type: str, title: str, tax_id: str, email: str) -> InvoiceIn:
    """The form's fields as the API's request; a missing or unknown title type is a clear refusal."""
    try:
        return InvoiceIn(title_type=title_type, title=title, tax_id=tax_id, email=email)  # type: ignore[arg-type]
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "title"
        raise Invalid(
            "invoice.incomplete",
            N_("Fill in the invoice title type, title and email."),
            details={"field": field},
        ) from exc


@router.post("/orders/{order_id}/invoice")
def invoice_request(
    order_id: PathId,
    request: Request,
    title_type: Annotated[str, Form(max_length=16)] = "",
    title: Annotated[str, Form(max_length=100)] = "",
    tax_id: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    actor: Actor = Depends(staff("invoices.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """申请发票 on the customer's behalf, or change the request until it is issued."""
    body = _request_from_form(title_type, title, tax_id, email)
    return change_order(
        request,
        rt,
        actor,
        order_id,
        lambda s, o: service.do_request(s, rt.keyring, actor, o, body),
        done=N_("Invoice request saved."),
    )


@router.post("/orders/{order_id}/invoice/issue")
def invoice_issue(
    order_id: PathId,
    request: Request,
    invoice_number: Annotated[str, Form(min_length=1, max_length=40)],
    issued_on: Annotated[date | None, Form()] = None,
    actor: Actor = Depends(staff("invoices.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """开票: the number, and the day it was issued (today unless given, in the shop's time zone)."""
    at = shop_moment(issued_on, actor.timezone, end=False)[0] if issued_on else None
    number = invoice_number.strip()
    return change_order(
        request,
        rt,
        actor,
        order_id,
        lambda s, o: service.do_issue(s, actor, o, number, at),
        done=N_("Invoice marked issued."),
    )


@router.post("/orders/{order_id}/invoice/cancel")
def invoice_cancel(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("invoices.manage")),
    rt: Runtime = Depends(get_runtime),
):
    return change_order(
        request,
        rt,
        actor,
        order_id,
        lambda s, o: service.do_cancel(s, actor, o),
        done=N_("Invoice request cancelled."),
    )
