from __future__ import annotations

from pydantic import BaseModel, Field

from shangliao.core.schemas import StrictModel


class ShopOut(BaseModel):
    id: int
    slug: str
    name: str
    timezone: str


class ShopPatch(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
