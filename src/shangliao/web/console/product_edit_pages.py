"""One product: its details and variants to edit, its share link, its stock and the stock ledger.

Saving the page is one unit of work (product fields and every variant row, or nothing). Products
carry no version column, so the page carries a stamp of what it showed: a save over someone else's
change is refused instead of quietly undoing it (the intent of rule 11 in docs/architecture.md). Stock moves only by adjustment,
with a reason, through the inventory service and its ledger (rule 10 of docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.catalog import images
from shangliao.catalog import service as catalog
from shangliao.catalog.api import upload_photo
from shangliao.catalog.models import Product
from shangliao.catalog.schemas import MAX_PHOTOS, ProductPatch, VariantIn, VariantPatch
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.field_labels import FIELD_LABELS
from shangliao.core.i18n import N_, gettext
from shangliao.core.pagination import encode_cursor
from shangliao.core.schemas import PathId
from shangliao.inventory import service as inventory
from shangliao.inventory import stock
from shangliao.inventory.models import StockMovement
from shangliao.inventory.schemas import MovementOut, StockAdjustmentIn
from shangliao.orders.models import Order
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping.templates import list_templates
from shangliao.shops.models import Shop
from shangliao.web.console.forms import in_thread, yuan_to_fen
from shangliao.web.console.order_pages import staff_of
from shangliao.web.console.product_pages import (
    SPEC_FIELDS,
    column,
    explain,
    field,
    made_up_sku,
    product_fields,
    read_product_form,
    sku_prefix,
    summary,
    whole_number,
)
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

LEDGER_LIMIT = 20
# Presets keep the ledger readable; the reason is stored in the words the staff member picked.
ADJUST_REASONS = (
    ("stocktake", N_("Stocktake")),
    ("delivery", N_("Delivery arrived")),
    ("damage", N_("Damaged or lost")),
    ("return", N_("Customer return")),
    ("other", N_("Other")),
)
MOVEMENT_KINDS = {
    "adjust": N_("Adjusted"),
    "reserve": N_("Reserved for an order"),
    "release": N_("Reservation released"),
    "deduct": N_("Shipped"),
    "backorder": N_("Presale ordered"),
    "backorder_release": N_("Presale released"),
}


# --- reading --------------------------------------------------------------------------------------


def edit_stamp(product: Product) -> str:
    """A fingerprint of everything the edit form shows (stock is not in it: it moves on its own)."""
    shown = [
        product.name,
        product.aliases,
        product.description,
        product.presale,
        product.active,
        product.low_stock_threshold,
        product.shipping_template_id,
        [(v.id, v.price, v.spec, v.active, v.weight_g) for v in product.variants],
    ]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:20]


def ledger_page(
    session: Session, actor: Actor, product: Product, *, variant_id: int | None, cursor: str | None
) -> dict[str, Any]:
    """The product's stock movements, newest first (one variant's when asked), with who and which order."""
    labels = {v.id: (v.sku, v.spec_label) for v in product.variants}
    wanted = [variant_id] if variant_id in labels else list(labels)
    stmt = (
        select(StockMovement, Order.number)
        .outerjoin(Order, (Order.id == StockMovement.order_id) & (Order.shop_id == actor.shop_id))
        .where(StockMovement.shop_id == actor.shop_id, StockMovement.variant_id.in_(wanted))
    )
    after = catalog.cursor_id(cursor)
    if after is not None:
        stmt = stmt.where(StockMovement.id < after)
    found = session.execute(stmt.order_by(StockMovement.id.desc()).limit(LEDGER_LIMIT + 1)).all()
    names = dict(staff_of(session, actor.shop_id, active_only=False))
    movements = [
        {
            "m": MovementOut.model_validate(m, from_attributes=True),  # plain data, outlives the session
            "sku": labels[m.variant_id][0],
            "spec": labels[m.variant_id][1],
            "order_number": number,
            "actor": names.get(m.actor_id, "") if m.actor_id else "",
        }
        for m, number in found[:LEDGER_LIMIT]
    ]
    more = encode_cursor([found[LEDGER_LIMIT - 1][0].id]) if len(found) > LEDGER_LIMIT else None
    return {
        "movements": movements,
        "ledger_cursor": more,
        "ledger_variant": variant_id if variant_id in labels else None,
        "kinds": MOVEMENT_KINDS,
        "initial_reason": catalog.INITIAL_STOCK_REASON,
    }


def _context(session: Session, request: Request, actor: Actor, product_id: int, **ledger) -> dict[str, Any]:
    product = catalog.access_product(session, actor.shop_id, product_id)
    view = catalog.product_out(product)
    slug = session.scalar(select(Shop.slug).where(Shop.id == actor.shop_id))
    base = str(request.base_url).rstrip("/")
    return {
        **summary(view),
        "stamp": edit_stamp(product),
        "shipping_templates": [(t.id, t.name) for t in list_templates(session, actor.shop_id)],
        "share_url": f"{base}/s/{slug}/p/{view.share_token}",
        "reasons": ADJUST_REASONS,
        "can_write": "catalog.write" in actor.permissions,
        "can_adjust": "inventory.adjust" in actor.permissions,
        "max_photos": MAX_PHOTOS,
        **ledger_page(
            session, actor, product, variant_id=ledger.get("variant_id"), cursor=ledger.get("cursor")
        ),
    }


def _show(
    request: Request,
    rt: Runtime,
    actor: Actor,
    product_id: int,
    *,
    part: str = "detail",
    message: str | None = None,
    variant_id: int | None = None,
):
    """The page, or for HTMX the part that changed: the whole product, its photos, its stock card
    or its ledger."""
    with rt.db.read() as session:
        context = _context(session, request, actor, product_id, variant_id=variant_id)
    template = f"products/_{part}.html" if is_htmx(request) else "products/detail.html"
    return render(request, template, section="products", part=part, message=message, **context)


@router.get("/products/{product_id}")
def product_page(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    return _show(request, rt, actor, product_id)


@router.get("/products/{product_id}/movements")
def product_movements(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The ledger for one variant or all, and its "load more" rows."""
    raw_variant = request.query_params.get("ledger_variant", "")
    variant_id = (
        int(raw_variant)
        if raw_variant.isascii() and raw_variant.isdigit() and len(raw_variant) < 19
        else None
    )
    cursor = (request.query_params.get("cursor") or "").strip()[:200] or None
    if not cursor:
        return _show(request, rt, actor, product_id, part="ledger", variant_id=variant_id)
    with rt.db.read() as session:
        product = catalog.access_product(session, actor.shop_id, product_id)
        context = ledger_page(session, actor, product, variant_id=variant_id, cursor=cursor)
        view = catalog.product_out(product)
    return render(request, "products/_ledger_rows.html", p=view, **context)


# --- changing -------------------------------------------------------------------------------------


def _locked_product(session: Session, actor: Actor, product_id: int) -> Product:
    """The product, its row locked on PostgreSQL so two saves of one page cannot both pass the stamp."""
    session.execute(
        select(Product.id).where(Product.shop_id == actor.shop_id, Product.id == product_id).with_for_update()
    )
    return catalog.access_product(session, actor.shop_id, product_id)


async def _change(
    request: Request, rt: Runtime, actor: Actor, product_id: int, change, *, part: str, done: str
):
    """Read the form, apply ``change(session, product, form)`` in one unit, show the changed part."""
    form = await read_product_form(request)

    def apply() -> None:
        with rt.db.write() as session:
            change(session, _locked_product(session, actor, product_id), form)

    await in_thread(apply)
    return await _changed(request, rt, actor, product_id, part=part, done=done)


async def _changed(request: Request, rt: Runtime, actor: Actor, product_id: int, *, part: str, done: str):
    """After a change: the page again (a plain form), or the part that changed (htmx)."""
    if not is_htmx(request):
        anchor = {"stock": "#product-stock", "photos": "#product-photos"}.get(part, "")
        return RedirectResponse(f"/products/{product_id}{anchor}", status_code=303)
    return await in_thread(_show, request, rt, actor, product_id, part=part, message=done)


@router.post("/products/{product_id}")
async def save_product(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    def save(session: Session, product: Product, form: FormData) -> None:
        if field(form, "stamp") != edit_stamp(product):
            raise Conflict(
                "product.changed",
                N_("Someone else changed this product meanwhile. Reload it and try again."),
            )
        try:
            patch = ProductPatch.model_validate({**product_fields(form), **template_field(form)})
        except ValidationError as exc:
            raise explain(exc) from exc
        changes = variant_changes(product, form)  # every row is checked before anything is written
        catalog.do_update_product(session, actor, product, patch)
        for variant, variant_patch in changes:
            catalog.do_update_variant(session, actor, variant, variant_patch)

    return await _change(request, rt, actor, product_id, save, part="detail", done=N_("Saved."))


def chosen_variant(product: Product, form: FormData, *, optional: bool = False) -> Any:
    """The product's variant the form's ``variant_id`` names; any other id is a 404 (an empty
    one too, unless ``optional``, when it means none)."""
    chosen = field(form, "variant_id")
    variant = next((v for v in product.variants if str(v.id) == chosen), None)
    if variant is None and (chosen or not optional):
        raise catalog.variant_not_found()
    return variant


def template_field(form: FormData) -> dict[str, Any]:
    """The product's 运费模板, when the form shows the choice ("" = the shop's default)."""
    if "shipping_template_id" not in form:
        return {}
    return {"shipping_template_id": field(form, "shipping_template_id") or None}


def variant_changes(product: Product, form: FormData) -> list[tuple[Any, VariantPatch]]:
    """The variant rows of the edit form that differ from what is stored, as patches."""
    ids = column(form, "variant_id", len(product.variants) + 1)
    prices = column(form, "variant_price", len(ids))
    weights = column(form, "variant_weight", len(ids))
    specs = [column(form, name, len(ids)) for name in SPEC_FIELDS[: len(product.options)]]
    ticked = set(form.getlist("variant_active"))
    by_id = {str(v.id): v for v in product.variants}
    changes = []
    for i, raw_id in enumerate(ids):
        if not raw_id:
            continue
        variant = by_id.get(raw_id)
        if variant is None:
            raise catalog.variant_not_found()
        row = i + 1
        price = yuan_to_fen(prices[i], f"variants.{i}.price")
        if price is None:
            raise Invalid("console.no_price", N_("Row {row}: give a price."), row=row)
        spec = {}
        for values, option in zip(specs, product.options, strict=False):
            if not values[i]:
                raise Invalid(
                    "console.blank_spec", N_("Row {row}: fill in the {option}."), row=row, option=option
                )
            spec[option] = values[i]
        wanted = {"price": price, "spec": spec, "active": raw_id in ticked}
        if weights[i]:  # grams, for weight-based 运费模板; blank leaves it as it is
            wanted["weight_g"] = whole_number(weights[i], FIELD_LABELS["weight_g"])
        values = {k: v for k, v in wanted.items() if getattr(variant, k) != v}
        if values:
            try:
                changes.append((variant, VariantPatch.model_validate(values)))
            except ValidationError as exc:
                raise explain(exc, row_of_all=row) from exc
    return changes


@router.post("/products/{product_id}/variants")
async def add_variant(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    def add(session: Session, product: Product, form: FormData) -> None:
        spec = {}
        for name, option in zip(SPEC_FIELDS, product.options, strict=False):
            if not field(form, name):
                raise Invalid("console.blank_spec", N_("Fill in the {option}."), option=option)
            spec[option] = field(form, name)
        price = yuan_to_fen(field(form, "price"), "price")
        if price is None:
            raise Invalid("console.no_price", N_("Give the new variant a price."))
        raw = {
            "sku": field(form, "sku") or made_up_sku(sku_prefix(), len(product.variants) + 1),
            "spec": spec,
            "price": price,
            "on_hand": whole_number(field(form, "on_hand"), FIELD_LABELS["on_hand"]),
        }
        try:
            body = VariantIn.model_validate(raw)
        except ValidationError as exc:
            raise explain(exc) from exc
        catalog.do_add_variant(session, actor, product, body)

    return await _change(request, rt, actor, product_id, add, part="detail", done=N_("Variant added."))


@router.post("/products/{product_id}/stock")
async def adjust_stock(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("inventory.adjust")),
    rt: Runtime = Depends(get_runtime),
):
    """Add or remove units, or set the counted quantity (盘点), with a reason, into the ledger."""

    def adjust(session: Session, product: Product, form: FormData) -> None:
        variant = chosen_variant(product, form)
        reason = adjust_reason(field(form, "reason"), field(form, "note"))
        quantity = field(form, "quantity")
        if field(form, "mode") == "count":
            counted = whole_number(quantity, FIELD_LABELS["delta"])
            # Read in this unit (locked on PostgreSQL): the count replaces what is on hand right now.
            delta = counted - stock.load(session, actor.shop_id, [variant.id])[variant.id].on_hand
            if delta == 0:
                raise Invalid("stock.no_change", N_("The count equals the stock on hand: nothing to adjust."))
        else:
            delta = signed_number(quantity)
        try:
            body = StockAdjustmentIn.model_validate({"delta": delta, "reason": reason})
        except ValidationError as exc:
            raise explain(exc) from exc
        inventory.do_adjust_stock(session, actor, variant.id, body.delta, body.reason)

    return await _change(request, rt, actor, product_id, adjust, part="stock", done=N_("Stock adjusted."))


# --- photos (stored and checked by ``catalog/images.py``) ------------------------------------------


@router.post("/products/{product_id}/photos")
async def add_photo(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Upload one photo (the API's upload: the same checks, limits and re-encoding)."""
    await upload_photo(request, rt, actor, product_id)
    return await _changed(request, rt, actor, product_id, part="photos", done=N_("Photo added."))


@router.post("/products/{product_id}/photos/{image_id}/cover")
async def choose_cover(
    product_id: PathId,
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    def cover(session: Session, product: Product, form: FormData) -> None:
        images.do_set_cover(session, actor, product, image_id)

    return await _change(request, rt, actor, product_id, cover, part="photos", done=N_("Cover chosen."))


@router.post("/products/{product_id}/photos/{image_id}/move")
async def move_photo(
    product_id: PathId,
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """One place earlier or later; the first place is the cover."""

    def move(session: Session, product: Product, form: FormData) -> None:
        ids = [p.id for p in product.photos]
        if image_id not in ids:
            raise images.not_found()
        at = ids.index(image_id)
        to = at + (-1 if field(form, "to") == "earlier" else 1)
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
            images.do_reorder_photos(session, actor, product, ids)

    return await _change(request, rt, actor, product_id, move, part="photos", done=N_("Photos reordered."))


@router.post("/products/{product_id}/photos/{image_id}/variant")
async def photo_variant(
    product_id: PathId,
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """The variant a photo shows (the new-order picker shows it beside that variant), or none."""

    def choose(session: Session, product: Product, form: FormData) -> None:
        variant = chosen_variant(product, form, optional=True)
        images.do_set_photo_variant(session, actor, product, image_id, variant.id if variant else None)

    return await _change(request, rt, actor, product_id, choose, part="photos", done=N_("Saved."))


@router.post("/products/{product_id}/photos/{image_id}/delete")
async def delete_photo(
    product_id: PathId,
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    def delete(session: Session, product: Product, form: FormData) -> None:
        images.do_delete_photo(session, actor, rt.settings.uploads_dir, product, image_id)

    return await _change(request, rt, actor, product_id, delete, part="photos", done=N_("Photo deleted."))


def signed_number(text: str) -> int:
    digits = text.removeprefix("+").removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        raise Invalid(
            "console.bad_quantity",
            N_("Write how many units to add, or to remove with a minus sign: 20 or -3."),
        )
    value = int(digits)
    return -value if text.startswith("-") else value


def adjust_reason(preset: str, note: str) -> str:
    """A listed reason is kept in the words the staff member saw; "Other" needs the typed note."""
    labels = dict(ADJUST_REASONS)
    if preset not in labels:
        raise Invalid("console.bad_reason", N_("Pick a reason for the adjustment."))
    if preset == "other":
        if not note:
            raise Invalid("console.no_reason", N_("Write the reason for the adjustment."))
        return note
    return f"{gettext(labels[preset])} · {note}" if note else gettext(labels[preset])
