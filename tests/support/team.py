"""Members of a test shop with a role: a built-in one, or a custom role made from a permission list."""

from __future__ import annotations

import functools
import uuid

from fastapi.testclient import TestClient

from shangliao.auth import service as auth_service
from shangliao.auth.actor import Actor
from shangliao.auth.models import Role, Staff
from shangliao.auth.passwords import hash_password
from shangliao.auth.permissions import BUILTIN_ROLES, CUSTOM, SCOPE_ALL
from shangliao.runtime import Runtime
from tests.support.shops import OWNER_PASSWORD, ShopFixture

MEMBER_PASSWORD = OWNER_PASSWORD


@functools.cache
def _password_hash() -> str:
    """argon2 is slow on purpose: one hash serves every test member (they share the password)."""
    return hash_password(MEMBER_PASSWORD)


class MemberClient(TestClient):
    """An API client signed in with a member's token, knowing who the member is."""

    staff_id: int
    role_id: int | None  # the custom role made for this member, if any
    username: str
    token: str


def make_member(
    runtime: Runtime,
    shop: ShopFixture,
    *,
    role: str | None = None,
    permissions: list[str] | set[str] | frozenset[str] | None = None,
    data_scope: str = SCOPE_ALL,
    sees_unassigned: bool = False,
    username: str | None = None,
) -> MemberClient:
    """A member of ``shop`` holding built-in ``role``, or (with ``permissions``) a custom role of
    their own with that data scope; answers an API client carrying the member's token."""
    if (role is None) == (permissions is None):
        raise ValueError("give a built-in role or a permission list")
    if role is not None and role not in BUILTIN_ROLES:
        raise ValueError(f"unknown built-in role {role!r}")
    tag = uuid.uuid4().hex[:10]
    username = username or f"member_{tag}"  # unique: the test database is shared across tests
    with runtime.db.write() as session:
        role_id = None
        if permissions is not None:
            custom = Role(
                shop_id=shop.id,
                name=f"role {tag}",
                permissions=sorted(permissions),
                data_scope=data_scope,
                sees_unassigned=sees_unassigned,
            )
            session.add(custom)
            session.flush()
            role_id = custom.id
        staff = Staff(
            shop_id=shop.id,
            username=username,
            display_name=username,
            password_hash=_password_hash(),
            role=role or CUSTOM,
            role_id=role_id,
        )
        session.add(staff)
        session.flush()
        actor = Actor(shop.id, staff.id, staff.role, frozenset(), "token", timezone=shop.timezone)
        raw, _ = auth_service.do_create_token(session, actor, name="tests", scopes=None, days=None)
        staff_id = staff.id
    client = MemberClient(
        shop.api.app, headers={"Authorization": f"Bearer {raw}"}, raise_server_exceptions=False
    )
    client.staff_id, client.role_id, client.username, client.token = staff_id, role_id, username, raw
    return client


def signed_in_again(runtime: Runtime, member: MemberClient) -> MemberClient:
    """Another token of the same member (for a test that signs one out and goes on with the other)."""
    with runtime.db.write() as session:
        staff = session.get(Staff, member.staff_id)
        actor = Actor(staff.shop_id, staff.id, staff.role, frozenset(), "token")
        raw, _ = auth_service.do_create_token(session, actor, name="tests", scopes=None, days=None)
    client = MemberClient(
        member.app, headers={"Authorization": f"Bearer {raw}"}, raise_server_exceptions=False
    )
    client.staff_id, client.role_id, client.username, client.token = (
        member.staff_id,
        member.role_id,
        member.username,
        raw,
    )
    return client
