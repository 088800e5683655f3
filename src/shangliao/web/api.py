"""``/api/v1``: mounts each domain's router."""

from __future__ import annotations

from fastapi import APIRouter

from shangliao.auth import api as auth_api
from shangliao.shops import api as shops_api

router = APIRouter(prefix="/api/v1")
for domain in (auth_api, shops_api):
    router.include_router(domain.router)
