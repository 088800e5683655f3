"""The shop's auto-assignment setting, kept in ``shops.settings["auto_assign"]``:

    {"order": {"mode": "round_robin", "roles": ["agent"], "role_ids": [3]},
     "conversation": {"mode": "off"}}

``roles`` (built-in keys) and ``role_ids`` (the shop's custom roles) narrow who takes turns;
both empty means every member whose role may see the row.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.audit.acts import SETTINGS_CHANGED
from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.auth.models import Role
from shangliao.auth.permissions import BUILTIN_ROLES
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.shops import settings_cache
from shangliao.shops.models import Shop

KEY = "auto_assign"
OFF, ROUND_ROBIN = "off", "round_robin"


class AutoRule(StrictModel):
    mode: Literal["off", "round_robin"] = Field(
        OFF, description="`off`, or `round_robin` among the online members holding the roles."
    )
    roles: list[Literal["owner", "admin", "agent", "warehouse", "finance"]] = Field(
        default_factory=list, max_length=len(BUILTIN_ROLES), description="Built-in roles that take turns."
    )
    role_ids: list[int] = Field(
        default_factory=list, max_length=50, description="The shop's custom roles that take turns."
    )

    def admits(self, role: str, role_id: int | None) -> bool:
        if not (self.roles or self.role_ids):
            return True
        return role in self.roles or (role_id is not None and role_id in self.role_ids)


class AutoAssign(StrictModel):
    order: AutoRule = Field(default_factory=AutoRule, description="New pending orders.")
    conversation: AutoRule = Field(default_factory=AutoRule, description="New conversations.")


def auto_assign(settings: dict[str, Any] | None) -> AutoAssign:
    """The setting as stored (absent or unreadable: off)."""
    try:
        return AutoAssign.model_validate((settings or {}).get(KEY) or {})
    except ValueError:
        return AutoAssign()


def rule_for(session: Session, shop_id: int, target: str) -> AutoRule:
    """The setting for ``target`` (every new order asks: read through the shop settings cache)."""
    return getattr(settings_cache.setting(session, shop_id, auto_assign), target)


def do_set_auto_assign(session: Session, actor: Actor, body: AutoAssign) -> AutoAssign:
    """Store the setting (an audited settings change); a custom role id of another shop (or
    none) is refused."""
    shop_id = actor.shop_id
    wanted = {i for rule in (body.order, body.conversation) for i in rule.role_ids}
    if any(i < 1 or i > MAX_ID for i in wanted):
        raise Invalid("assign.unknown_role", N_("No such role."))
    if wanted:
        found = set(session.scalars(select(Role.id).where(Role.shop_id == shop_id, Role.id.in_(wanted))))
        if wanted - found:
            raise Invalid(
                "assign.unknown_role", N_("No such role."), details={"role_ids": sorted(wanted - found)}
            )
    settings_cache.saved(session, session.get(Shop, shop_id), KEY, body.model_dump())
    record_audit(
        session, shop_id, SETTINGS_CHANGED, actor=actor, target_type="shop", target_id=shop_id,
        data={"setting": KEY},
    )  # fmt: skip
    return body
