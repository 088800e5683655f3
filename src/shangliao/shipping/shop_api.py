"""The shipping fee on the customer's product-link order form (``/s/{shop}/api/…``).

Anyone holding the share link may see the product and its price, so they may also see what an
order of it would charge for delivery: priced by the code that places the order
(``orders.create.quote``), so the form's total is the order's.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query

from shangliao.auth.access import public
from shangliao.core.schemas import MAX_ID
from shangliao.orders.create import quote
from shangliao.orders.schemas import ItemIn
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.service import access_shop_by_slug
from shangliao.storefront import orders as go
from shangliao.storefront.api import shop_page_router
from shangliao.storefront.orders_api import ShareToken
from shangliao.web.responses import JSONResponse

router = shop_page_router()


@router.get("/products/{token}/shipping", dependencies=[Depends(public())])
def link_order_shipping(
    shop: str,
    token: ShareToken,
    variant_id: int = Query(ge=1, le=MAX_ID),
    quantity: int = Query(1, ge=1, le=999),
    province: str | None = Query(None, max_length=32, description="The address's province, by name."),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """What an order of ``quantity`` of the variant costs delivered to ``province`` (none yet: the
    templates' default fees). A province the shop does not deliver to is a 422
    `shipping.region_not_delivered` naming it, as placing the order would be."""
    with rt.db.read() as session:
        shop_id = access_shop_by_slug(session, shop).id
        product = go.access_product_by_token(session, shop_id, token)
        go.check_variant_of(product, variant_id)
        priced = quote(
            session,
            shop_id,
            [ItemIn(variant_id=variant_id, quantity=quantity)],
            None,
            0,
            hold=False,
            province=province or None,
        )
        return JSONResponse(
            {
                "items_total": priced.priced.items_total,
                "shipping_fee": priced.shipping_fee,
                "total": priced.total,
                "by_template": priced.fee.applied,
            }
        )
