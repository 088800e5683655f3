"""API shapes of members, roles and invitations (auth/team_api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shangliao.auth.permissions import SCOPE_ALL
from shangliao.core.schemas import MAX_ID, StrictModel


class RoleRef(StrictModel):
    """A built-in role by its key, or one of the shop's own roles by its id: exactly one of them."""

    role: str | None = Field(
        default=None, max_length=32, description="owner, admin, agent, warehouse, finance"
    )
    role_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The id of one of the shop's own roles."
    )

    @model_validator(mode="after")
    def _one_of(self):
        if (self.role is None) == (self.role_id is None):
            raise ValueError("give exactly one of role and role_id")
        return self


class MemberIn(RoleRef):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(StrictModel):
    password: str = Field(min_length=1, max_length=256)


class MemberOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_id: int | None
    role_name: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class RoleIn(StrictModel):
    name: str = Field(min_length=1, max_length=32)
    permissions: list[str] = Field(default_factory=list, max_length=100)
    data_scope: Literal["all", "assigned"] = SCOPE_ALL
    sees_unassigned: bool = False


class RoleOut(BaseModel):
    key: str | None = Field(description="A built-in role's key; null for the shop's own roles.")
    id: int | None = Field(description="The shop's own role's id; null for built-in roles.")
    name: str
    builtin: bool
    permissions: list[str]
    data_scope: str
    sees_unassigned: bool
    members: int


class InvitationIn(RoleRef):
    expires_in_days: int = Field(default=7, ge=1, le=30)


class InvitationOut(BaseModel):
    id: int
    role: str
    role_id: int | None
    created_at: datetime
    expires_at: datetime


class InvitationCreatedOut(InvitationOut):
    url: str = Field(description="The link to send; shown once, only its hash is stored.")


class JoinIn(StrictModel):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AcceptIn(JoinIn):
    token: str = Field(min_length=1, max_length=128, description="The secret at the end of the link.")
