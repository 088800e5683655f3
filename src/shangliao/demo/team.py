"""The demo shop's team, so the Team page, data scope and masking have something to show.

Four members besides the owner, one of them holding a custom assigned-only role; a few orders and
conversations are given to them through the real services, so the timelines, notifications and
audit rows arise as they would in a shop. They sign in with the owner's demo password.
"""

from __future__ import annotations

from sqlalchemy import select

from shangliao.assignment.conversations import do_assign_conversation
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import SCOPE_ASSIGNED
from shangliao.auth.service import prepare_password
from shangliao.auth.team import do_create_member, do_create_role
from shangliao.chat.models import Conversation
from shangliao.orders import actions
from shangliao.orders.models import Order
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime

NIGHT_ROLE = "夜班客服"
# Chats and orders, only those assigned to them; no customers.pii, so phones show masked.
NIGHT_PERMISSIONS = [
    "shop.read",
    "catalog.read",
    "customers.read",
    "chat.read",
    "chat.write",
    "orders.read",
    "orders.write",
]
# (key, display name, built-in role or None for NIGHT_ROLE); usernames are "<owner>-<key>".
TEAM = [
    ("xiaowang", "客服小王", "agent"),
    ("laoli", "仓库老李", "warehouse"),
    ("afang", "财务阿芳", "finance"),
    ("xiaochen", "夜班小陈", None),
]
# What each member is given: (key, open orders, conversations), newest first.
WORK = [("xiaowang", 4, 2), ("xiaochen", 3, 1), ("laoli", 3, 0)]
OPEN = ("pending", "confirmed", "preparing")


def team_logins(owner_username: str) -> list[tuple[str, str]]:
    """``(username, display name)`` of each demo member, for the login banner."""
    return [(f"{owner_username}-{key}", name) for key, name, _ in TEAM]


def seed_team(rt: Runtime, owner: Actor, owner_username: str, password: str) -> None:
    hashed = prepare_password(password)  # once, outside the writer (rule 16)
    ids: dict[str, int] = {}
    with rt.db.write() as session:
        night = do_create_role(
            session,
            owner,
            name=NIGHT_ROLE,
            permissions=NIGHT_PERMISSIONS,
            data_scope=SCOPE_ASSIGNED,
            sees_unassigned=False,
        )
        for (key, name, role), (username, _) in zip(TEAM, team_logins(owner_username), strict=True):
            member = do_create_member(
                session,
                owner,
                username=username,
                password=hashed,
                display_name=name,
                role=role or "custom",
                role_id=None if role else night.id,
            )
            ids[key] = member.id
    _assign(rt, owner, ids)


def _assign(rt: Runtime, owner: Actor, ids: dict[str, int]) -> None:
    """Hand out the newest open orders and conversations, one unit each (rule 1)."""
    with rt.db.read() as session:
        order_ids = session.scalars(
            select(Order.id)
            .where(Order.shop_id == owner.shop_id, Order.status.in_(OPEN), Order.archived_at.is_(None))
            .order_by(Order.id.desc())
            .limit(sum(n for _, n, _ in WORK))
        ).all()
        conversation_ids = session.scalars(
            select(Conversation.id).where(Conversation.shop_id == owner.shop_id).order_by(Conversation.id)
        ).all()
    orders, conversations = iter(order_ids), iter(conversation_ids)
    for key, order_count, conversation_count in WORK:
        for order_id in [i for _, i in zip(range(order_count), orders, strict=False)]:
            with rt.db.write() as session:
                order = access_order(session, owner, order_id, lock=True)
                actions.do_assign(session, owner, order, ids[key])
        for conversation_id in [i for _, i in zip(range(conversation_count), conversations, strict=False)]:
            with rt.db.write() as session:
                do_assign_conversation(session, owner, conversation_id, ids[key])
