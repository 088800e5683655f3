"""``/api/v1``: assigning many conversations at once, and the shop's auto-assignment setting.
(One order or conversation: PUT …/assignee on its own route; many orders: the order batch.)"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shangliao.assignment import conversations
from shangliao.assignment.rules import ASSIGN
from shangliao.assignment.settings import AutoAssign, auto_assign, do_set_auto_assign
from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.core.i18n import current_locale
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop

router = APIRouter(tags=["assignment"])


@router.post("/conversations/assign")
def assign_conversations(
    body: conversations.BulkAssignIn,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
) -> dict:
    """Give many conversations to one member (`null`: nobody), each on its own: the answer lists
    every conversation with its outcome. Giving them to someone else needs `orders.assign`."""
    if body.assignee_id is not None and body.assignee_id != actor.staff_id:
        check_permission(actor, ASSIGN)  # refused whole, before any unit opens
    return conversations.assign_many(rt.db, actor, body, current_locale.get())


@router.get("/assignment/settings", response_model=AutoAssign)
def get_auto_assign(actor: Actor = Depends(staff("shop.read")), rt: Runtime = Depends(get_runtime)):
    """Whether new pending orders and new conversations are given round-robin, and to whom."""
    with rt.db.read() as session:
        return auto_assign(session.get(Shop, actor.shop_id).settings)


@router.put("/assignment/settings", response_model=AutoAssign)
def put_auto_assign(
    body: AutoAssign, actor: Actor = Depends(staff("settings.manage")), rt: Runtime = Depends(get_runtime)
):
    """Turn round-robin on or off for new pending orders and new conversations; `roles` and
    `role_ids` narrow who takes turns (empty: every member whose role may see them). Only
    members online at the moment (seen in the last few minutes) take a turn."""
    with rt.db.write() as session:
        return do_set_auto_assign(session, actor, body)
