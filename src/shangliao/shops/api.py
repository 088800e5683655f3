"""The caller's own shop."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.shops.schemas import ShopOut, ShopPatch
from shangliao.shops.service import check_timezone

router = APIRouter(prefix="/shop", tags=["shop"])


@router.get("", response_model=ShopOut)
def get_shop(actor: Actor = Depends(staff("shop.read")), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        return ShopOut.model_validate(session.get(Shop, actor.shop_id), from_attributes=True)


@router.patch("", response_model=ShopOut)
def patch_shop(
    body: ShopPatch, actor: Actor = Depends(staff("shop.manage")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.write() as session:
        shop = session.get(Shop, actor.shop_id)
        if body.name is not None:
            shop.name = body.name
        if body.timezone is not None:
            shop.timezone = check_timezone(body.timezone)
        session.flush()
        return ShopOut.model_validate(shop, from_attributes=True)
