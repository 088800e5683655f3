"""The caller's own shop."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.audit.acts import SETTINGS_CHANGED
from shangliao.audit.log import record_audit
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.auth.caller_cache import CALLERS, SHOP_CHANGED_EVENT
from shangliao.events.log import DomainEvent, record
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.shops.schemas import ShopOut, ShopPatch
from shangliao.shops.service import check_timezone
from shangliao.stats.rebuild import forget_zone
from shangliao.storage.database import after_commit
from shangliao.web.client_address import client_address

router = APIRouter(prefix="/shop", tags=["shop"])


@router.get("", response_model=ShopOut)
def get_shop(actor: Actor = Depends(staff("shop.read")), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        return ShopOut.model_validate(session.get(Shop, actor.shop_id), from_attributes=True)


@router.patch("", response_model=ShopOut)
def patch_shop(
    body: ShopPatch,
    request: Request,
    actor: Actor = Depends(staff("settings.manage")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        shop = session.get(Shop, actor.shop_id)
        if body.name is not None:
            shop.name = body.name
        if body.timezone is not None:
            zone = check_timezone(body.timezone)
            if zone != shop.timezone:  # the dashboard's days move: its rollups are made again
                forget_zone(session, shop.id)
            shop.timezone = zone
        changed = [name for name in ("name", "timezone") if getattr(body, name) is not None]
        if changed:
            # Callers cached with the old settings (the zone orders are dated in) are dropped:
            # here at once after commit, in other processes through the bus.
            record(session, shop.id, [DomainEvent(SHOP_CHANGED_EVENT, "shop", shop.id, {"changed": changed})])
            # Which settings, not their values: the audit log names keys only.
            record_audit(
                session,
                shop.id,
                SETTINGS_CHANGED,
                actor=actor,
                target_type="shop",
                target_id=shop.id,
                data={"changed": changed},
                address=client_address(request),
            )
            shop_id = shop.id
            after_commit(session, lambda: CALLERS.forget_shop(shop_id))
        session.flush()
        return ShopOut.model_validate(shop, from_attributes=True)
