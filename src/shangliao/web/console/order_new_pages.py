"""Creating an order by hand, for a returning customer or a new one.

Pick the customer (search by name, phone or its last 4), one of their addresses or a new one (typed
with the province → city → district pickers, or pasted and recognised), then products found by
name or SKU with their stock in sight. The order is placed on the same path as the API's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from shangliao.addresses import divisions
from shangliao.addresses.smart_paste import parse_address
from shangliao.assignment.rules import ASSIGN
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.catalog import service as catalog
from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers import service as customers
from shangliao.customers.masking import view_for
from shangliao.customers.schemas import CustomerSearch
from shangliao.orders.create import do_create_order, quote
from shangliao.orders.schemas import ItemIn, OrderCreate
from shangliao.orders.tag_palette import palette
from shangliao.orders.workflow import workflow_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.address_form import address_fields, address_from_form, check_filled
from shangliao.web.console.forms import in_thread, read_form, refused_fields, whole_number, yuan_to_fen
from shangliao.web.console.order_pages import staff_of
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
BAD_ORDER = ("console.bad_order", N_("Some order fields are missing or invalid: {fields}."))


@router.get("/orders/new")
def new_order_page(
    request: Request, actor: Actor = Depends(staff("orders.write")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        required = workflow_for(session, actor.shop_id).manual_required
        tags = palette(session, actor.shop_id).items
        # Someone who may give orders to others picks here; anyone else takes what they make.
        members = staff_of(session, actor.shop_id) if ASSIGN in actor.permissions else []
    return render(
        request,
        "orders/new.html",
        section="orders",
        provinces=divisions.provinces(),
        address=None,
        required=required,
        palette_tags=tags,
        members=members,
    )


async def search_customers(request: Request, rt: Runtime, actor: Actor, **context: str):
    """Customers matching a name, a whole phone or its last 4 (posted: a phone stays out of URLs),
    as a pick list (``context``: where a pick goes, for pages other than this one)."""
    q = str((await read_form(request)).get("cq") or "").strip()[:64]

    def search():
        with rt.db.read() as session:
            page = customers.list_customers(
                session,
                rt.keyring,
                actor.shop_id,
                CustomerSearch(q=q or None, sort="-last_order_at", limit=10),
            )
        return render(request, "orders/_customer_pick.html", found=page.items, q=q, **context)

    return await in_thread(search)


@router.post("/orders/new/customers")
async def pick_customer(
    request: Request, actor: Actor = Depends(staff("orders.write")), rt: Runtime = Depends(get_runtime)
):
    return await search_customers(request, rt, actor)


@router.get("/orders/new/customers/{customer_id}")
def customer_addresses(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        customer = customers.access_customer(session, actor.shop_id, customer_id)
        view = customers.customer_out(rt.keyring, customer, view_for(actor))
    return render(request, "orders/_customer_addresses.html", customer=view)


@router.post("/orders/new/products")
async def pick_product(
    request: Request, actor: Actor = Depends(staff("orders.write")), rt: Runtime = Depends(get_runtime)
):
    """Variants matching a name, an alias, a SKU (an exact one first) or option values ("红色 XL")."""
    q = str((await read_form(request)).get("pq") or "").strip()[:100]

    def search():
        with rt.db.read() as session:
            found = [
                {
                    "product": {
                        "name": v.product.name,
                        "presale": v.product.presale,
                        "thumb": catalog.variant_thumbnail(v),
                    },
                    "variant": catalog.variant_out(v, v.product.low_stock_threshold),
                }
                for v in catalog.search_variants(session, actor.shop_id, q)
            ]
        return render(request, "orders/_product_pick.html", found=found, q=q)

    return await in_thread(search)


@router.post("/orders/new/quote")
async def quote_order(
    request: Request, actor: Actor = Depends(staff("orders.write")), rt: Runtime = Depends(get_runtime)
):
    """The new-order form's running total, priced by the same code that places the order, so
    what is shown before 提交订单 is what the order will charge. A refusal (an unknown or
    withdrawn product, a discount over the amount) is shown in place of the total."""
    form = await read_form(request, max_fields=260)

    def price():
        shown, error = None, None
        try:
            items, shipping_fee, discount = _lines_and_amounts(form)
            if items:
                with rt.db.read() as session:
                    province = _province(session, rt, actor, form)
                    shown = quote(
                        session, actor.shop_id, items, shipping_fee, discount, hold=False, province=province
                    )
        except ShangliaoError as exc:
            error = exc
        return render(request, "orders/_order_totals_body.html", quote=shown, error=error)

    return await in_thread(price)


@router.post("/orders/new/parse-address")
async def parse_pasted_address(request: Request, _actor: Actor = Depends(staff("orders.write"))):
    """智能地址识别: fill the address fields from one pasted line."""
    text = str((await read_form(request)).get("pasted") or "")[:500]
    parsed = parse_address(text)
    return render(
        request,
        "orders/_address_fields.html",
        provinces=divisions.provinces(),
        address=address_fields(
            receiver=parsed.receiver or "",
            phone=parsed.phone or "",
            detail=parsed.detail or "",
            province_code=parsed.province_code or "",
            city_code=parsed.city_code or "",
            district_code=parsed.district_code or "",
        ),
        recognised=True,
    )


@router.post("/orders/new")
async def create_manual_order(
    request: Request, actor: Actor = Depends(staff("orders.write")), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request, max_fields=260)
    body = _order_body(form)
    created = await rt.db.submit(lambda session: do_create_order(session, rt.keyring, actor, body))
    target = f"/orders/{created.row.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _province(session, rt: Runtime, actor: Actor, form: FormData) -> str | None:
    """The province the running total's fee is priced for (shipping/fees.py): the saved address
    picked, else the typed one's; None prices the templates' default fees."""
    customer_id = whole_number(str(form.get("customer_id") or ""))
    picked = whole_number(str(form.get("address_id") or ""))
    if customer_id is not None and picked is not None:
        address = customers.address_of(session, rt.keyring, actor.shop_id, customer_id, picked)
        return address.province if address else None
    return str(form.get("province_code") or "") or None


def item_lines(form: FormData) -> list[dict[str, Any]]:
    """The posted ``variant_id`` / ``quantity`` pairs (new-order form, and lines added to an order)."""
    variant_ids = form.getlist("variant_id")
    quantities = form.getlist("quantity")
    return [
        {"variant_id": v, "quantity": q}
        for v, q in zip(variant_ids, quantities, strict=False)
        if str(v).isdigit() and str(q).strip()
    ]


def _lines_and_amounts(form: FormData) -> tuple[list[ItemIn], int | None, int]:
    """The lines, shipping fee and discount as ``_order_body`` reads them, for the running total."""
    try:
        items = [ItemIn.model_validate(line) for line in item_lines(form)]
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER) from exc
    amounts = _amounts(form)
    return items, amounts.get("shipping_fee"), amounts["discount"]


def _amounts(form: FormData) -> dict[str, int]:
    # A blank fee is left out, so the shop's 运费模板 price it (shipping/fees.py).
    fee = yuan_to_fen(str(form.get("shipping_fee") or ""), "shipping_fee")
    return {
        **({"shipping_fee": fee} if fee is not None else {}),
        "discount": yuan_to_fen(str(form.get("discount") or ""), "discount") or 0,
    }


def _tags(form: FormData) -> list[str]:
    """The palette tags ticked and any typed (separated by commas or spaces)."""
    typed = str(form.get("other_tags") or "").replace("，", ",").replace(",", " ").split()
    return list(dict.fromkeys([*(str(t) for t in form.getlist("tag")), *typed]))


def _order_body(form: FormData) -> OrderCreate:
    """The form's fields as the API's ``OrderCreate``; its validation decides what is acceptable."""
    items = item_lines(form)
    if not items:
        raise Invalid("console.no_items", N_("Add at least one product to the order."))
    raw: dict[str, Any] = {
        "items": items,
        "channel": "manual",
        "remark": str(form.get("remark") or "").strip(),
        "tags": _tags(form),
        **_amounts(form),
    }
    assignee_id = whole_number(str(form.get("assignee_id") or ""))
    if assignee_id is not None:
        raw["assignee_id"] = assignee_id
    customer_id = whole_number(str(form.get("customer_id") or ""))
    if customer_id is not None:
        raw["customer_id"] = customer_id
    picked = whole_number(str(form.get("address_id") or ""))
    if picked is not None and "customer_id" in raw:
        raw["address_id"] = picked
    else:
        raw["address"] = address_from_form(form)
        check_filled(raw["address"], *BAD_ORDER)
    try:
        return OrderCreate.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER, depth=2) from exc
