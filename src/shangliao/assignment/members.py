"""The shop's members with what their roles grant, read in one query (assignment, round-robin,
and who a notification may go to all ask "who may see this?")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shangliao.auth.models import Role, Staff
from shangliao.auth.permissions import Grant
from shangliao.auth.service import role_grant


@dataclass(frozen=True)
class Member:
    id: int
    role: str  # a built-in key or "custom"
    role_id: int | None
    active: bool
    grant: Grant

    def may_take(self, permission: str) -> bool:
        return self.active and permission in self.grant.permissions

    def may_see(self, permission: str, assignee_id: int | None) -> bool:
        """Whether this member may see a row needing ``permission`` that is assigned to
        ``assignee_id`` (their role's data scope, as ``Actor.may_see_assignee`` decides it)."""
        if not self.may_take(permission):
            return False
        if not self.grant.limited:
            return True
        return assignee_id == self.id or (assignee_id is None and self.grant.sees_unassigned)


# What makes a Member, for queries that add columns of their own (notifications/service.py).
MEMBER_COLUMNS = (
    Staff.id,
    Staff.role,
    Staff.role_id,
    Staff.active,
    Role.permissions,
    Role.data_scope,
    Role.sees_unassigned,
)


def member_query(shop_id: int, ids: Iterable[int] | None = None, *extra: Any) -> Select:
    """The shop's members (only ``ids`` when given) with their roles' rows, and ``extra`` columns."""
    query = (
        select(*MEMBER_COLUMNS, *extra)
        .outerjoin(Role, Role.id == Staff.role_id)
        .where(Staff.shop_id == shop_id)
        .order_by(Staff.id)
    )
    return query.where(Staff.id.in_(list(ids))) if ids is not None else query


def member_from(row: Sequence[Any]) -> Member:
    """A Member from the first columns of a :func:`member_query` row."""
    sid, role, role_id, active, perms, scope, unassigned = row[: len(MEMBER_COLUMNS)]
    return Member(sid, role, role_id, active, role_grant(role, perms, scope, unassigned))


def members(session: Session, shop_id: int, ids: Iterable[int] | None = None) -> dict[int, Member]:
    """The shop's members (only ``ids`` when given), by id; inactive ones included, marked."""
    return {m.id: m for m in map(member_from, session.execute(member_query(shop_id, ids)))}
