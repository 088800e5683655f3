"""Changing an order after it was placed: the address (until shipping), the items (until
confirming) and 改价 (until paid). Each change lands on the timeline with old and new values;
the services decide what is allowed and say why not."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers.pii import Address
from shangliao.orders import edits
from shangliao.orders.schemas import ItemIn
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.address_form import address_from_form
from shangliao.web.console.forms import form_version, in_thread, read_form, refused_fields, yuan_to_fen
from shangliao.web.console.order_detail_pages import change_order
from shangliao.web.console.order_new_pages import BAD_ORDER, item_lines

router = APIRouter(include_in_schema=False)


@router.post("/orders/{order_id}/edit/address")
async def edit_address(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.write")),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)
    try:
        address = Address.model_validate(address_from_form(form))
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
    """New quantities for the order's lines (``qty_<item id>``; 0 removes a line) and lines to add
    (``variant_id`` / ``quantity`` pairs, as on the new-order form). Each kept line keeps the price
    it was sold at, 改价 included; an added line takes the catalog price, and adding a product the
    order already has raises that line's quantity."""
    form = await read_form(request, max_fields=260)
    quantities = {
        int(key.removeprefix("qty_")): str(value).strip()
        for key, value in form.items()
        if key.startswith("qty_") and key.removeprefix("qty_").isdigit()
    }
    added = item_lines(form)
    version = form_version(form)

    def whole(typed: str) -> int:
        if not typed.isdigit():
            raise Invalid("console.bad_quantity", N_("Quantities are whole numbers."))
        return int(typed)

    def replace(session, order):
        lines = []
        for item in sorted(order.items, key=lambda i: i.position):
            quantity = whole(quantities.get(item.id, str(item.quantity)))
            if quantity > 0:
                lines.append(
                    {"variant_id": item.variant_id, "quantity": quantity, "unit_price": item.unit_price}
                )
        for new in added:
            variant_id, quantity = int(new["variant_id"]), whole(str(new["quantity"]).strip())
            same = next((line for line in lines if line["variant_id"] == variant_id), None)
            if same is not None:
                same["quantity"] += quantity
            elif quantity > 0:
                lines.append({"variant_id": variant_id, "quantity": quantity})
        if not lines:
            raise Invalid("console.no_items", N_("Add at least one product to the order."))
        try:
            items = [ItemIn.model_validate(line) for line in lines]
        except ValidationError as exc:
            raise refused_fields(exc, *BAD_ORDER) from exc
        edits.do_replace_items(session, actor, order, items, version=version)

    return await in_thread(change_order, request, rt, actor, order_id, replace, done=N_("Items changed."))
