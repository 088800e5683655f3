"""Changing an order after it was placed: the address (until shipping), the items (until
confirming) and 改价 (until paid). Each change lands on the timeline with old and new values;
the services decide what is allowed and say why not."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers.pii import Address
from shangliao.orders import edits
from shangliao.orders.create import quote
from shangliao.orders.models import Order
from shangliao.orders.schemas import ItemIn
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.address_form import address_from_form, check_filled
from shangliao.web.console.forms import form_version, in_thread, read_form, refused_fields, yuan_to_fen
from shangliao.web.console.order_detail_pages import change_order
from shangliao.web.console.order_new_pages import BAD_ORDER, item_lines
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)


@router.post("/orders/{order_id}/edit/address")
async def edit_address(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)
    typed = address_from_form(form)
    check_filled(typed, *BAD_ORDER)
    try:
        address = Address.model_validate(typed)
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER) from exc
    version = form_version(form)
    return await in_thread(
        change_order,
        request,
        rt,
        actor,
        order_id,
        lambda s, o: edits.do_change_address(s, rt.keyring, actor, o, address, version=version),
        done=N_("Address changed."),
    )


@router.post("/orders/{order_id}/edit/price")
async def edit_price(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """改价: unit prices (fields ``price_<item id>``), shipping fee and discount, all in yuan."""
    form = await read_form(request, max_fields=120)
    prices = {
        int(key.removeprefix("price_")): yuan_to_fen(str(value), key)
        for key, value in form.items()
        if key.startswith("price_") and key.removeprefix("price_").isdigit() and str(value).strip()
    }
    shipping = yuan_to_fen(str(form.get("shipping_fee") or ""), "shipping_fee")
    discount = yuan_to_fen(str(form.get("discount") or ""), "discount")
    reason = str(form.get("reason") or "").strip()[:200]
    version = form_version(form)
    return await in_thread(
        change_order,
        request,
        rt,
        actor,
        order_id,
        lambda s, o: edits.do_change_price(
            s,
            actor,
            o,
            item_prices=prices or None,
            shipping_fee=shipping,
            discount=discount,
            reason=reason,
            version=version,
        ),
        done=N_("Price changed."),
    )


@router.post("/orders/{order_id}/edit/items")
async def edit_items(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """修改商品: keep, change, drop and add lines (``_edited_lines`` reads the form); the order's
    status decides whether items may still change, and its stock holds follow."""
    form = await read_form(request, max_fields=260)
    version = form_version(form)

    def replace(session, order):
        edits.do_replace_items(session, actor, order, _edited_lines(order, form), version=version)

    return await in_thread(change_order, request, rt, actor, order_id, replace, done=N_("Items changed."))


@router.post("/orders/{order_id}/edit/items/quote")
async def quote_items(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    """The 修改商品 dialog's running total: the lines as saving would leave them, priced by the code
    that prices an order. A refusal is shown in place of the total; saving says it again."""
    form = await read_form(request, max_fields=260)

    def price():
        shown, error = None, None
        with rt.db.read() as session:
            order = access_order(session, actor.shop_id, order_id)
            try:
                items = _edited_lines(order, form)
                shown = quote(session, actor.shop_id, items, order.shipping_fee, order.discount, hold=False)
            except ShangliaoError as exc:
                error = exc
        url = f"/orders/{order_id}/edit/items/quote"
        return render(request, "orders/_order_totals.html", quote=shown, error=error, quote_url=url)

    return await in_thread(price)


def _whole(typed: str) -> int:
    if not typed.isdigit():
        raise Invalid("console.bad_quantity", N_("Quantities are whole numbers."))
    return int(typed)


def _edited_lines(order: Order, form: FormData) -> list[ItemIn]:
    """The order's lines after the 修改商品 form: new quantities for its lines (``qty_<item id>``;
    0 removes one, a missing field keeps it) at the price each was sold at, 改价 included; then
    the added ``variant_id`` / ``quantity`` pairs at the catalog price, a product the order already
    has raising that line's quantity instead."""
    quantities = {
        int(key.removeprefix("qty_")): str(value).strip()
        for key, value in form.items()
        if key.startswith("qty_") and key.removeprefix("qty_").isdigit()
    }
    lines: list[dict] = []
    for item in sorted(order.items, key=lambda i: i.position):
        quantity = _whole(quantities.get(item.id, str(item.quantity)))
        if quantity > 0:
            lines.append({"variant_id": item.variant_id, "quantity": quantity, "unit_price": item.unit_price})
    for new in item_lines(form):
        variant_id, quantity = int(new["variant_id"]), _whole(str(new["quantity"]).strip())
        same = next((line for line in lines if line["variant_id"] == variant_id), None)
        if same is not None:
            same["quantity"] += quantity
        elif quantity > 0:
            lines.append({"variant_id": variant_id, "quantity": quantity})
    if not lines:
        raise Invalid("console.no_items", N_("Add at least one product to the order."))
    try:
        return [ItemIn.model_validate(line) for line in lines]
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER) from exc
