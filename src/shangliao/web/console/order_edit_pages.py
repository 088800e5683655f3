"""Changing an order after it was placed: the address (until shipping), the items (until
confirming) and 改价 (until paid). Each change lands on the timeline with old and new values;
the services decide what is allowed and say why not."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid, NotFound, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.customers import service as customers
from shangliao.customers.pii import Address
from shangliao.inventory import stock
from shangliao.orders import edits
from shangliao.orders.create import quote
from shangliao.orders.models import Order
from shangliao.orders.schemas import ItemIn
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.address_form import address_from_form, check_filled
from shangliao.web.console.forms import (
    form_version,
    in_thread,
    read_form,
    refused_fields,
    whole_number,
    yuan_to_fen,
)
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
    version = form_version(form)
    saved_id = _saved_choice(form)
    if saved_id is not None:
        # A saved address the page showed masked goes by its id; the customer's book fills it in.
        def change(s: Session, o: Order):
            address = _saved_address(s, rt, actor, o, saved_id)
            return edits.do_change_address(s, rt.keyring, actor, o, address, version=version)
    else:
        typed = address_from_form(form)
        check_filled(typed, *BAD_ORDER)
        try:
            address = Address.model_validate(typed)
        except ValidationError as exc:
            raise refused_fields(exc, *BAD_ORDER) from exc

        def change(s: Session, o: Order):
            return edits.do_change_address(s, rt.keyring, actor, o, address, version=version)

    return await in_thread(change_order, request, rt, actor, order_id, change, done=N_("Address changed."))


def _saved_choice(form: FormData) -> int | None:
    """The id of a saved address picked without its fields (region-picker.js disables them for a
    choice that has only an id); None when the address was typed or filled in."""
    choice = str(form.get("address_choice") or "")
    if not choice.startswith("saved-") or str(form.get("detail") or "").strip():
        return None
    return whole_number(choice.removeprefix("saved-"))


def _saved_address(session: Session, rt: Runtime, actor: Actor, order: Order, address_id: int) -> Address:
    """One of the order's customer's saved addresses (an order without a customer has none)."""
    address = (
        customers.address_of(session, rt.keyring, actor.shop_id, order.customer_id, address_id)
        if order.customer_id
        else None
    )
    if address is None:
        raise NotFound("customer.address_not_found", N_("This customer has no such address."))
    return address


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
        item_id: yuan_to_fen(value, f"price_{item_id}")
        for item_id, value in _numbered(form, "price_").items()
        if value
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
        lines = _edited_lines(session, order, form)
        edits.do_replace_items(session, actor, order, lines, version=version, keyring=rt.keyring)

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
            order = access_order(session, actor, order_id)
            try:
                items = _edited_lines(session, order, form)
                shown = quote(session, actor.shop_id, items, order.shipping_fee, order.discount, hold=False)
            except ShangliaoError as exc:
                error = exc
        url = f"/orders/{order_id}/edit/items/quote"
        return render(request, "orders/_order_totals_body.html", quote=shown, error=error, quote_url=url)

    return await in_thread(price)


def _whole(typed: str) -> int:
    number = whole_number(typed)
    if number is None:
        raise Invalid("console.bad_quantity", N_("Quantities are whole numbers."))
    return number


def _numbered(form: FormData, prefix: str) -> dict[int, str]:
    """The ``<prefix><item id>`` fields (``qty_12``), by item id; other names are not ours."""
    fields = {}
    for key, value in form.items():
        item_id = whole_number(key.removeprefix(prefix)) if key.startswith(prefix) else None
        if item_id is not None:
            fields[item_id] = str(value).strip()
    return fields


def _edited_lines(session: Session, order: Order, form: FormData) -> list[ItemIn]:
    """The order's lines after the 修改商品 form: new quantities for its lines (``qty_<item id>``;
    0 removes one, a missing field keeps it) at the price each was sold at, 改价 included; then
    the added ``variant_id`` / ``quantity`` pairs at the catalog price, as the dialog says. Added
    units join a line of the same product only where that line is at the catalog price too: a
    line re-priced by 改价 keeps its price for its own units and the added ones get a line of
    their own."""
    quantities = _numbered(form, "qty_")
    kept: list[dict] = []
    for item in sorted(order.items, key=lambda i: i.position):
        quantity = _whole(quantities.get(item.id, str(item.quantity)))
        if quantity > 0:
            kept.append({"variant_id": item.variant_id, "quantity": quantity, "unit_price": item.unit_price})
    try:
        added = [
            ItemIn.model_validate({"variant_id": new["variant_id"], "quantity": quantity})
            for new in item_lines(form)
            if (quantity := _whole(str(new["quantity"]).strip())) > 0
        ]
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER) from exc
    catalog = stock.peek(session, order.shop_id, [line.variant_id for line in added])
    lines = kept
    for line in added:
        price = catalog[line.variant_id].price if line.variant_id in catalog else None
        same = next(
            (k for k in lines if k["variant_id"] == line.variant_id and k["unit_price"] == price), None
        )
        if same is not None:
            same["quantity"] += line.quantity
        else:
            # No unit price: priced from the catalog when saved (an unknown id is refused there).
            lines.append({"variant_id": line.variant_id, "quantity": line.quantity, "unit_price": price})
    if not lines:
        raise Invalid("console.no_items", N_("Add at least one product to the order."))
    try:
        return [ItemIn.model_validate(line) for line in lines]
    except ValidationError as exc:
        raise refused_fields(exc, *BAD_ORDER) from exc
