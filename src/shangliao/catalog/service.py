"""Catalog use cases: create, read, list and edit products and their variants.

Stock is never written here directly: initial stock goes through ``inventory.stock.apply`` as an
``adjust`` movement, so the ledger always sums to what the variant holds (rule 10 of docs/architecture.md).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from shangliao.auth.actor import Actor
from shangliao.catalog.models import ALIAS_SEPARATOR, Product, ProductImage, Variant
from shangliao.catalog.schemas import (
    PhotoOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    VariantIn,
    VariantOut,
    VariantPatch,
)
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.pagination import decode_cursor, encode_cursor
from shangliao.events.log import DomainEvent, record
from shangliao.inventory import stock
from shangliao.shipping.templates import check_product_template

INITIAL_STOCK_REASON = "initial stock"


# --- access ---------------------------------------------------------------------------------------


def variant_not_found() -> NotFound:
    return NotFound("variant.not_found", N_("No such product variant."))


def access_product(session: Session, shop_id: int, product_id: int) -> Product:
    """The shop's product with its variants; another shop's product is simply not found (404)."""
    product = session.scalar(
        select(Product)
        .where(Product.shop_id == shop_id, Product.id == product_id)
        .options(selectinload(Product.variants), selectinload(Product.photos))
    )
    if product is None:
        raise NotFound("product.not_found", N_("No such product."))
    return product


def access_variant(session: Session, shop_id: int, variant_id: int) -> Variant:
    variant = session.scalar(
        select(Variant)
        .where(Variant.shop_id == shop_id, Variant.id == variant_id)
        .options(selectinload(Variant.product))
    )
    if variant is None:
        raise variant_not_found()
    return variant


# --- checks ---------------------------------------------------------------------------------------


def check_spec(options: list[str], spec: dict[str, str], sku: str) -> None:
    """A variant names a value for every option of its product, and nothing else."""
    if set(spec) != set(options) or len(spec) != len(options):
        raise Invalid(
            "product.spec_mismatch",
            N_("The spec of {sku} must name exactly the options {options}."),
            sku=sku,
            options=" / ".join(options) or "-",
            details={"sku": sku, "expected": list(options), "given": list(spec)},
        )


def spec_key(options: list[str], spec: dict[str, str]) -> tuple[str, ...]:
    return tuple(spec[o] for o in options)


def check_variants(options: list[str], variants: list[VariantIn]) -> None:
    """Specs match the options, no SKU or option combination appears twice in the request."""
    if not options and len(variants) != 1:
        raise Invalid(
            "product.single_variant",
            N_("A product without options has exactly one variant."),
            details={"variants": len(variants)},
        )
    seen_skus: set[str] = set()
    seen_specs: set[tuple[str, ...]] = set()
    for v in variants:
        if v.sku in seen_skus:
            raise Invalid(
                "product.duplicate_sku",
                N_("The SKU {sku} appears more than once."),
                sku=v.sku,
                details={"sku": v.sku},
            )
        seen_skus.add(v.sku)
        check_spec(options, v.spec, v.sku)
        key = spec_key(options, v.spec)
        if key in seen_specs:
            raise _duplicate_spec(v.sku, key)
        seen_specs.add(key)


def _duplicate_spec(sku: str, key: tuple[str, ...]) -> Invalid:
    label = " / ".join(key)
    return Invalid(
        "product.duplicate_spec",
        N_("Another variant already has the spec {spec}."),
        spec=label,
        details={"sku": sku, "spec": label},
    )


def _sku_taken(sku: str) -> Conflict:
    return Conflict(
        "product.sku_taken", N_("The SKU {sku} is already used in this shop."), sku=sku, details={"sku": sku}
    )


def check_skus_free(session: Session, shop_id: int, skus: Iterable[str]) -> None:
    wanted = list(skus)
    taken = session.scalars(
        select(Variant.sku).where(Variant.shop_id == shop_id, Variant.sku.in_(wanted)).limit(1)
    ).first()
    if taken is not None:
        raise _sku_taken(taken)


def _flush_new_skus(session: Session, skus: list[str]) -> None:
    """Flush; a SKU taken by a concurrent transaction since our check still gets the clear 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _sku_taken(", ".join(skus)) from exc


# --- changes --------------------------------------------------------------------------------------


def _new_variant(shop_id: int, data: VariantIn, position: int) -> Variant:
    return Variant(
        shop_id=shop_id,
        sku=data.sku,
        spec=dict(data.spec),
        price=data.price,
        on_hand=0,
        reserved=0,
        backorder=0,
        active=data.active,
        position=position,
        weight_g=data.weight_g,
    )


def _stock_in(session: Session, actor: Actor, pairs: list[tuple[Variant, int]]) -> list[DomainEvent]:
    """Put initial stock on freshly flushed variants through the ledger."""
    moves = [stock.Move(v.id, "adjust", on_hand=qty) for v, qty in pairs if qty]
    events = stock.apply(session, actor.shop_id, moves, actor_id=actor.staff_id, reason=INITIAL_STOCK_REASON)
    # apply() changed the rows with a Core UPDATE; tell the loaded objects without a reload.
    for v, qty in pairs:
        set_committed_value(v, "on_hand", v.on_hand + qty)
    return events


def do_create_product(session: Session, actor: Actor, data: ProductIn) -> Product:
    check_variants(data.options, data.variants)
    skus = [v.sku for v in data.variants]
    check_skus_free(session, actor.shop_id, skus)
    check_product_template(session, actor.shop_id, data.shipping_template_id)
    product = Product(
        shop_id=actor.shop_id,
        name=data.name,
        aliases=ALIAS_SEPARATOR.join(data.aliases),
        description=data.description,
        images=list(data.images),
        options=list(data.options),
        active=data.active,
        presale=data.presale,
        low_stock_threshold=data.low_stock_threshold,
        shipping_template_id=data.shipping_template_id,
        share_token=secrets.token_urlsafe(16),
        variants=[_new_variant(actor.shop_id, v, i) for i, v in enumerate(data.variants)],
    )
    session.add(product)
    variants = list(product.variants)
    _flush_new_skus(session, skus)
    low = _stock_in(session, actor, [(v, d.on_hand) for v, d in zip(variants, data.variants, strict=True)])
    record(
        session,
        actor.shop_id,
        [
            DomainEvent("product.created", "product", product.id, {"variant_ids": [v.id for v in variants]}),
            *low,
        ],
    )
    return product


def _changed_fields(target: object, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    return changed


def do_update_product(session: Session, actor: Actor, product: Product, patch: ProductPatch) -> Product:
    values = patch.model_dump(exclude_unset=True)
    if "aliases" in values:
        values["aliases"] = ALIAS_SEPARATOR.join(values["aliases"])
    if "shipping_template_id" in values:
        check_product_template(session, actor.shop_id, values["shipping_template_id"])
    changed = _changed_fields(product, values)
    if changed:
        session.flush()
        record(
            session,
            actor.shop_id,
            [DomainEvent("product.updated", "product", product.id, {"fields": changed})],
        )
    return product


def do_add_variant(session: Session, actor: Actor, product: Product, data: VariantIn) -> Variant:
    if not product.options:
        raise Invalid("product.single_variant", N_("A product without options has exactly one variant."))
    check_spec(product.options, data.spec, data.sku)
    key = spec_key(product.options, data.spec)
    if any(spec_key(product.options, v.spec) == key for v in product.variants):
        raise _duplicate_spec(data.sku, key)
    check_skus_free(session, actor.shop_id, [data.sku])
    position = max((v.position for v in product.variants), default=-1) + 1
    variant = _new_variant(actor.shop_id, data, position)
    product.variants.append(variant)
    _flush_new_skus(session, [data.sku])
    low = _stock_in(session, actor, [(variant, data.on_hand)])
    record(
        session,
        actor.shop_id,
        [DomainEvent("variant.created", "variant", variant.id, {"product_id": product.id}), *low],
    )
    return variant


def do_update_variant(session: Session, actor: Actor, variant: Variant, patch: VariantPatch) -> Variant:
    values = patch.model_dump(exclude_unset=True)
    product = variant.product
    if "spec" in values:
        check_spec(product.options, values["spec"], variant.sku)
        key = spec_key(product.options, values["spec"])
        siblings = session.scalars(
            select(Variant).where(
                Variant.shop_id == actor.shop_id, Variant.product_id == product.id, Variant.id != variant.id
            )
        )
        if any(spec_key(product.options, v.spec) == key for v in siblings):
            raise _duplicate_spec(variant.sku, key)
    changed = _changed_fields(variant, values)
    if changed:
        session.flush()
        record(
            session,
            actor.shop_id,
            [
                DomainEvent(
                    "variant.updated", "variant", variant.id, {"product_id": product.id, "fields": changed}
                )
            ],
        )
    return variant


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilter:
    active: bool | None = None
    presale: bool | None = None
    low_stock: bool = False
    q: str | None = None


def is_low(available: int, threshold: int) -> bool:
    """Threshold 0 means the merchant has not asked for alerts (as in ``stock.low_stock_events``)."""
    return threshold > 0 and available <= threshold


def on_offer(shop_id: int) -> tuple:
    """The shop's active variants of its active products: the conditions of a query that joins
    Variant to Product (the order picker's search, the chat's catalogue)."""
    return (
        Variant.shop_id == shop_id,
        Product.shop_id == shop_id,
        Variant.active.is_(True),
        Product.active.is_(True),
    )


def low_stock_clause(shop_id: int):
    """Active variants of active products at or below their product's threshold (a SQL predicate)."""
    return and_(
        Variant.shop_id == shop_id,
        Variant.active.is_(True),
        Product.active.is_(True),
        Product.low_stock_threshold > 0,
        Variant.on_hand - Variant.reserved <= Product.low_stock_threshold,
    )


def cursor_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (value,) = decode_cursor(cursor, 1)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("pagination.bad_cursor", N_("The page cursor is not valid."))
    return value


def list_products(
    session: Session, shop_id: int, filters: ProductFilter, *, cursor: str | None, limit: int
) -> tuple[list[Product], str | None]:
    """Newest first, keyset-paginated on id so every page costs the same."""
    stmt = select(Product).where(Product.shop_id == shop_id)
    if filters.active is not None:
        stmt = stmt.where(Product.active.is_(filters.active))
    if filters.presale is not None:
        stmt = stmt.where(Product.presale.is_(filters.presale))
    if filters.low_stock:
        stmt = stmt.where(exists().where(Variant.product_id == Product.id, low_stock_clause(shop_id)))
    if filters.q:
        # A variant's SKU or option value ("红色", "XL") is a hit for its product (the chat
        # composer's product picker lists products through here).
        sku_hit = exists().where(
            Variant.shop_id == shop_id,
            Variant.product_id == Product.id,
            or_(Variant.sku.icontains(filters.q, autoescape=True), _spec_text_hit(filters.q)),
        )
        # An alias is a hit too ("纸巾" finds 某某抽纸 when the merchant gave it that alias).
        named = or_(
            Product.name.icontains(filters.q, autoescape=True),
            Product.aliases.icontains(filters.q, autoescape=True),
        )
        stmt = stmt.where(or_(named, sku_hit))
    after = cursor_id(cursor)
    if after is not None:
        stmt = stmt.where(Product.id < after)
    rows = list(
        session.scalars(
            stmt.order_by(Product.id.desc())
            .limit(limit + 1)
            .options(selectinload(Product.variants), selectinload(Product.photos))
        )
    )
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# How many candidate variants the picker's search reads before ranking them; a shop's picker shows
# the first few, so a wider read only costs time.
PICK_CANDIDATES = 200


def _spec_text_hit(term: str):
    """A loose SQL test for an option value ("红色", "XL") in a variant's JSON spec, as stored:
    SQLite keeps the JSON text with non-ASCII escaped (\\u7ea2), PostgreSQL's JSONB prints it as
    is, so both spellings are tried. It may also hit a key; ``search_variants`` checks the values."""
    text = cast(Variant.spec, Text)
    spellings = {term, json.dumps(term)[1:-1]}
    return or_(*(text.icontains(s, autoescape=True) for s in sorted(spellings)))


def _variant_words(variant: Variant) -> list[str]:
    """What belongs to the variant itself rather than its product: its SKU and option values."""
    return [variant.sku.casefold(), *(str(v).casefold() for v in (variant.spec or {}).values())]


def _pick_rank(variant: Variant, q: str, terms: list[str]) -> tuple[int, int, int]:
    """Exact SKU first, then a SKU that starts with the query, then variants whose own words
    (option values, SKU) matched, then the rest of a matching product's variants; newest product
    first within a tier, variants in their product's order."""
    sku = variant.sku.casefold()
    own = _variant_words(variant)
    if sku == q:
        tier = 0
    elif sku.startswith(q):
        tier = 1
    elif any(term in word for term in terms for word in own):
        tier = 2
    else:
        tier = 3
    return (tier, -variant.product_id, variant.position)


def search_variants(session: Session, shop_id: int, q: str, *, limit: int = 20) -> list[Variant]:
    """The order picker's search: active variants of active products where every word of ``q``
    is in the product's name or aliases, or the variant's SKU or option values ("红色 XL")."""
    terms = [t.casefold() for t in q.split()[:5]]
    if not terms:
        return []
    stmt = (
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(*on_offer(shop_id))
        .options(contains_eager(Variant.product))
    )
    for term in terms:
        stmt = stmt.where(
            or_(
                Product.name.icontains(term, autoescape=True),
                Product.aliases.icontains(term, autoescape=True),
                Variant.sku.icontains(term, autoescape=True),
                _spec_text_hit(term),
            )
        )
    whole = " ".join(terms)
    exact_first = case((func.lower(Variant.sku) == whole, 0), else_=1)
    rows = session.scalars(
        stmt.order_by(exact_first, Product.id.desc(), Variant.position).limit(PICK_CANDIDATES)
    ).all()

    def matches(variant: Variant) -> bool:
        # The loose spec test above may have hit a JSON key or an escape sequence: check each word
        # against the real values.
        product = variant.product
        words = [product.name.casefold(), product.aliases.casefold(), *_variant_words(variant)]
        return all(any(term in word for word in words) for term in terms)

    found = [v for v in rows if matches(v)]
    return sorted(found, key=lambda v: _pick_rank(v, whole, terms))[:limit]


def variant_out(variant: Variant, threshold: int) -> VariantOut:
    return VariantOut(
        id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        spec=variant.spec,
        spec_label=variant.spec_label,
        price=variant.price,
        on_hand=variant.on_hand,
        reserved=variant.reserved,
        available=variant.available,
        backorder=variant.backorder,
        active=variant.active,
        low_stock=is_low(variant.available, threshold),
        weight_g=variant.weight_g,
    )


def photo_out(photo: ProductImage) -> PhotoOut:
    """A photo as staff see it: served by id to the shop's staff (``catalog/api.py``)."""
    base = f"/api/v1/product-images/{photo.id}"
    return PhotoOut(
        id=photo.id,
        variant_id=photo.variant_id,
        position=photo.position,
        cover=photo.position == 0,
        width=photo.width,
        height=photo.height,
        size=photo.size,
        url=base,
        thumbnail_url=f"{base}/thumbnail",
        thumb_width=photo.thumb_width,
        thumb_height=photo.thumb_height,
    )


def public_photo_url(key: str) -> str:
    """Where anyone may fetch a photo of a product on sale (``catalog/api.py``: ``public_photo``)."""
    return f"/api/v1/photos/{key}"


def public_photo(photo: ProductImage) -> dict[str, Any]:
    """What a customer's page needs to show a photo without layout shift: both sources and sizes."""
    return {
        "src": public_photo_url(photo.storage_key),
        "width": photo.width,
        "height": photo.height,
        "thumb": public_photo_url(photo.thumb_key),
        "thumb_width": photo.thumb_width,
        "thumb_height": photo.thumb_height,
        "variant_id": photo.variant_id,
    }


def cover_thumbnail(product: Product) -> str | None:
    """The cover's public thumbnail, else the first image URL given through the API, else none."""
    if product.photos:
        return public_photo_url(product.photos[0].thumb_key)
    return product.images[0] if product.images else None


def variant_thumbnail(variant: Variant) -> str | None:
    """For the order picker: the thumbnail of the photo showing this variant (the red one), else the
    cover's. Its public address: the picker offers only products on sale, whose photos any share
    link shows, so it loads for whoever may take orders, catalog.read or not."""
    photos = variant.product.photos
    photo = next((p for p in photos if p.variant_id == variant.id), photos[0] if photos else None)
    return public_photo_url(photo.thumb_key) if photo is not None else None


def product_out(product: Product) -> ProductOut:
    prices = [v.price for v in product.variants if v.active]
    return ProductOut(
        id=product.id,
        name=product.name,
        aliases=product.alias_list,
        description=product.description,
        images=product.images,
        photos=[photo_out(p) for p in product.photos],
        options=product.options,
        presale=product.presale,
        low_stock_threshold=product.low_stock_threshold,
        active=product.active,
        shipping_template_id=product.shipping_template_id,
        share_token=product.share_token,
        price_min=min(prices, default=None),
        price_max=max(prices, default=None),
        created_at=product.created_at,
        updated_at=product.updated_at,
        variants=[variant_out(v, product.low_stock_threshold) for v in product.variants],
    )
