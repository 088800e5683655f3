"""Products for tests, created through the catalog service (so stock lands in the ledger too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.runtime import Runtime
from tests.support.shops import ShopFixture


@dataclass(frozen=True)
class ProductIds:
    product_id: int
    variant_ids: list[int]
    skus: list[str]

    @property
    def variant_id(self) -> int:
        """The first variant: enough for the many tests that sell a single SKU."""
        return self.variant_ids[0]

    @property
    def sku(self) -> str:
        return self.skus[0]


def make_product(
    rt: Runtime,
    shop: ShopFixture,
    *,
    name: str = "T恤",
    options: Sequence[str] = (),
    variants: Sequence[dict] | None = None,
    stock: int = 10,
    price: int = 9900,
    presale: bool = False,
    threshold: int = 0,
    active: bool = True,
) -> ProductIds:
    """A product of ``shop``. Without ``variants``: one plain SKU, or two (value 1 and 2) per option.

    Each entry of ``variants`` may leave out ``sku`` (a unique one is made up), ``price`` and
    ``on_hand`` (``stock``); ``spec`` defaults to ``{}``.
    """
    if variants is None:
        variants = [{o: f"{o}{i}" for o in options} for i in (1, 2)] if options else [{}]
        variants = [{"spec": spec} for spec in variants]
    tag = uuid.uuid4().hex[:8].upper()
    body = ProductIn(
        name=name,
        options=list(options),
        presale=presale,
        low_stock_threshold=threshold,
        active=active,
        variants=[
            {
                "sku": v.get("sku", f"T-{tag}-{i}"),
                "price": v.get("price", price),
                "on_hand": v.get("on_hand", stock),
                "spec": v.get("spec", {}),
                **{k: v[k] for k in ("active",) if k in v},
            }
            for i, v in enumerate(variants)
        ],
    )
    with rt.db.write() as session:
        product = do_create_product(session, shop.actor, body)
        return ProductIds(product.id, [v.id for v in product.variants], [v.sku for v in product.variants])


def make_white_tee(runtime, shop):
    """纯棉T恤 in one colour (白色, ¥59), five in stock: what the address journeys order."""
    return make_product(
        runtime,
        shop,
        name="纯棉T恤",
        options=["颜色"],
        variants=[{"spec": {"颜色": "白色"}, "price": 5900}],
        stock=5,
    )
