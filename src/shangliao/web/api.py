"""``/api/v1``: mounts each domain's router."""

from __future__ import annotations

from fastapi import APIRouter

from shangliao.auth import api as auth_api
from shangliao.catalog import api as catalog_api
from shangliao.customers import api as customers_api
from shangliao.inventory import api as inventory_api
from shangliao.orders import api as orders_api
from shangliao.orders import api_collection as orders_collection_api
from shangliao.shops import api as shops_api

router = APIRouter(prefix="/api/v1")
for domain in (
    auth_api,
    shops_api,
    catalog_api,
    inventory_api,
    customers_api,
    orders_collection_api,
    orders_api,
):
    router.include_router(domain.router)
