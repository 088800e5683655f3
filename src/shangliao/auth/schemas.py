from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shangliao.core.schemas import StrictModel


class LoginIn(StrictModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class StaffOut(BaseModel):
    id: int
    shop_id: int
    username: str
    display_name: str
    role: str


class MeOut(BaseModel):
    staff: StaffOut
    shop: dict
    permissions: list[str]


class TokenIn(StrictModel):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[str] | None = Field(default=None, description="Permissions; omitted = all of yours.")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    scopes: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")
