"""Who may assign whom, and who may be given an order or a conversation.

- Giving a row to someone else, or taking it from someone else, needs ``orders.assign`` (the one
  permission covers orders and conversations). A member without it may still **claim** an
  unassigned row for themselves, and **release** their own, with the route's own permission
  (``orders.write`` / ``chat.write``): that is how an agent picks up work.
- The assignee must be an active member of the shop whose role may see the row: ``orders.read``
  for an order, ``chat.read`` for a conversation. Anyone else is a clear error, not a silent
  assignment nobody can open.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from shangliao.assignment.members import members
from shangliao.auth.access import check_permission
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_

Target = Literal["order", "conversation"]
# What a member's role must hold to be given a row of each kind.
TAKES: dict[str, str] = {"order": "orders.read", "conversation": "chat.read"}
ASSIGN = "orders.assign"


def check_may_assign(actor: Actor, current: int | None, new: int | None) -> None:
    """403 unless ``actor`` may move the row from ``current`` to ``new`` (see the module's rules)."""
    if current == new:
        return
    me = actor.staff_id
    claiming = current is None and new == me
    releasing = current == me and new is None
    if me is None or not (claiming or releasing):
        check_permission(actor, ASSIGN)


def check_assignee(session: Session, shop_id: int, target: Target, assignee_id: int | None) -> None:
    """404 for no such member of the shop; 422 for one who is deactivated or whose role may not
    see the row."""
    if assignee_id is None:
        return
    member = members(session, shop_id, [assignee_id]).get(assignee_id)
    if member is None:
        raise NotFound("staff.not_found", N_("No such staff member."), details={"assignee_id": assignee_id})
    if not member.active:
        raise Invalid(
            "assign.assignee_inactive",
            N_("This member is deactivated and cannot be given work."),
            details={"assignee_id": assignee_id},
        )
    permission = TAKES[target]
    if not member.may_take(permission):
        raise Invalid(
            "assign.assignee_cannot_take",
            N_("This member's role cannot see it ({permission}), so it cannot be given to them."),
            permission=permission,
            details={"assignee_id": assignee_id, "permission": permission},
        )
