"""HTTP routes of the catalog domain (thin: validate, open the unit of work, call the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.catalog import service
from shangliao.catalog.schemas import (
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    VariantIn,
    VariantOut,
    VariantPatch,
)
from shangliao.core.schemas import PathId
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["catalog"])

# Ids beyond a 64-bit integer can never exist; refusing them here keeps them away from the driver.


@router.post("/products", response_model=ProductOut, status_code=201)
def create_product(
    body: ProductIn, actor: Actor = Depends(staff("catalog.write")), rt: Runtime = Depends(get_runtime)
):
    """Create a product with all its variants; each variant's `on_hand` is booked as initial stock."""
    with rt.db.write() as session:
        product = service.do_create_product(session, actor, body)
        return service.product_out(product)


@router.get("/products", response_model=ProductPage)
def list_products(
    active: bool | None = None,
    presale: bool | None = None,
    low_stock: bool = Query(False, description="Only products with a variant at or below the threshold."),
    q: str | None = Query(None, max_length=100, description="Part of the name, of an alias or of a SKU."),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(20, ge=1, le=100),
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    filters = service.ProductFilter(active=active, presale=presale, low_stock=low_stock, q=(q or "").strip())
    with rt.db.read() as session:
        rows, next_cursor = service.list_products(session, actor.shop_id, filters, cursor=cursor, limit=limit)
        return ProductPage(items=[service.product_out(p) for p in rows], next_cursor=next_cursor)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(
    product_id: PathId, actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        return service.product_out(service.access_product(session, actor.shop_id, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: PathId,
    body: ProductPatch,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change product fields; fields left out stay as they are."""
    with rt.db.write() as session:
        product = service.access_product(session, actor.shop_id, product_id)
        return service.product_out(service.do_update_product(session, actor, product, body))


@router.post("/products/{product_id}/variants", response_model=VariantOut, status_code=201)
def add_variant(
    product_id: PathId,
    body: VariantIn,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        product = service.access_product(session, actor.shop_id, product_id)
        variant = service.do_add_variant(session, actor, product, body)
        return service.variant_out(variant, product.low_stock_threshold)


@router.get("/variants/{variant_id}", response_model=VariantOut)
def get_variant(
    variant_id: PathId, actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        variant = service.access_variant(session, actor.shop_id, variant_id)
        return service.variant_out(variant, variant.product.low_stock_threshold)


@router.patch("/variants/{variant_id}", response_model=VariantOut)
def update_variant(
    variant_id: PathId,
    body: VariantPatch,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change price, spec or active flag (`active: false` deactivates). Stock changes by adjustment."""
    with rt.db.write() as session:
        variant = service.access_variant(session, actor.shop_id, variant_id)
        variant = service.do_update_variant(session, actor, variant, body)
        return service.variant_out(variant, variant.product.low_stock_threshold)
