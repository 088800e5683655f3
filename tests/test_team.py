"""Members, roles and invitations (auth/team.py, auth/invitations.py, auth/team_api.py): who may
grant what, the last owner, and a change taking effect on the member's next request and socket."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from shangliao.audit.models import AuditEntry
from shangliao.auth.caller_cache import STAFF_CHANGED_EVENT, CallerCache, Found
from shangliao.auth.models import Staff
from shangliao.core import clock
from shangliao.events import log
from tests.support import sockets
from tests.support.sockets import next_event, staff_socket
from tests.support.team import MEMBER_PASSWORD, make_member

client = sockets.client  # fixture: one event loop for the whole test

MEMBERS = "/api/v1/team/members"
ROLES = "/api/v1/team/roles"
INVITATIONS = "/api/v1/team/invitations"
NEW_PASSWORD = "a long new password"


def unique(prefix: str = "m") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def add_member(api: TestClient, **fields) -> dict:
    r = api.post(MEMBERS, json={"username": unique(), "password": MEMBER_PASSWORD} | fields)
    assert r.status_code == 201, r.text
    return r.json()


def sign_in(app, username: str, password: str = MEMBER_PASSWORD) -> TestClient:
    browser = TestClient(app, raise_server_exceptions=False)
    r = browser.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return browser


def permissions(api: TestClient) -> set[str]:
    r = api.get("/api/v1/auth/me")
    assert r.status_code == 200, r.text
    return set(r.json()["permissions"])


def acts(runtime, shop_id: int) -> list[str]:
    """The shop's audit acts of this area (sign-ins are audited too, and left out here)."""
    with runtime.db.read() as session:
        found = session.scalars(
            select(AuditEntry.act).where(AuditEntry.shop_id == shop_id).order_by(AuditEntry.id)
        )
        return [a for a in found if a.startswith(("team.", "auth.token"))]


def error_code(r) -> str:
    return r.json()["error"]["code"]


def custom_role(api: TestClient, permissions: list[str], **fields) -> dict:
    r = api.post(ROLES, json={"name": unique("role"), "permissions": permissions} | fields)
    assert r.status_code == 201, r.text
    return r.json()


# --- members ---------------------------------------------------------------------------------------


def test_the_owner_adds_a_member_who_signs_in_with_the_roles_permissions(runtime, app, shop):
    # when the owner adds a customer-service member
    member = add_member(shop.api, role="agent", display_name="小王")

    # then the member is listed with the role, signs in, and holds the agent's permissions only
    listed = {m["username"]: m for m in shop.api.get(MEMBERS).json()}
    assert listed[member["username"]]["role"] == "agent" and listed[member["username"]]["active"]
    held = permissions(sign_in(app, member["username"]))
    assert "chat.write" in held and "team.manage" not in held
    assert "team.member_created" in acts(runtime, shop.id)


def test_a_member_with_a_custom_role_holds_that_roles_permissions(app, shop):
    role = custom_role(shop.api, ["orders.read", "chat.read"], data_scope="assigned", sees_unassigned=True)

    member = add_member(shop.api, role_id=role["id"])

    assert member["role"] == "custom" and member["role_name"] == role["name"]
    assert permissions(sign_in(app, member["username"])) == {"orders.read", "chat.read"}


def test_without_team_manage_every_team_route_is_refused_with_the_permission(runtime, shop):
    agent = make_member(runtime, shop, role="agent")

    for r in (agent.get(MEMBERS), agent.get(ROLES), agent.post(INVITATIONS, json={"role": "agent"})):
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "auth.forbidden"
        assert "team.manage" in r.json()["error"]["message"]


def test_another_shops_member_is_not_found(runtime, shop, other_shop):
    stranger = make_member(runtime, other_shop, role="agent")

    r = shop.api.put(f"{MEMBERS}/{stranger.staff_id}/role", json={"role": "finance"})
    gone = shop.api.post(f"{MEMBERS}/{stranger.staff_id}/deactivate")

    assert (r.status_code, gone.status_code) == (404, 404)
    assert permissions(stranger) >= {"chat.write"}


def test_another_shops_member_is_not_found_whatever_the_password(runtime, shop, other_shop):
    stranger = make_member(runtime, other_shop, role="agent")

    weak = shop.api.put(f"{MEMBERS}/{stranger.staff_id}/password", json={"password": "short"})

    assert (weak.status_code, error_code(weak)) == (404, "team.member_not_found")


def test_a_member_needs_a_strong_password_and_a_free_username(shop):
    taken = add_member(shop.api, role="agent")

    weak = shop.api.post(MEMBERS, json={"username": unique(), "password": "short", "role": "agent"})
    again = shop.api.post(
        MEMBERS, json={"username": taken["username"], "password": MEMBER_PASSWORD, "role": "agent"}
    )
    both = shop.api.post(
        MEMBERS, json={"username": unique(), "password": MEMBER_PASSWORD, "role": "agent", "role_id": 1}
    )

    assert (weak.status_code, error_code(weak)) == (422, "auth.weak_password")
    assert (again.status_code, error_code(again)) == (409, "auth.username_taken")
    assert both.status_code == 422


# --- who may grant what --------------------------------------------------------------------------


def test_only_an_owner_makes_or_changes_an_owner(runtime, shop):
    admin = make_member(runtime, shop, role="admin")

    made = admin.post(MEMBERS, json={"username": unique(), "password": MEMBER_PASSWORD, "role": "owner"})
    demoted = admin.put(f"{MEMBERS}/{shop.owner_id}/role", json={"role": "agent"})
    closed = admin.post(f"{MEMBERS}/{shop.owner_id}/deactivate")
    reset = admin.put(f"{MEMBERS}/{shop.owner_id}/password", json={"password": NEW_PASSWORD})

    assert [r.status_code for r in (made, demoted, closed, reset)] == [403] * 4
    assert {error_code(r) for r in (made, demoted, closed, reset)} == {"team.owner_only"}
    assert permissions(shop.api) >= {"audit.read", "team.manage"}


def test_a_custom_role_cannot_hold_a_permission_its_maker_lacks(runtime, shop):
    manager = make_member(runtime, shop, permissions=["team.manage", "orders.read"])

    wider = manager.post(ROLES, json={"name": unique("role"), "permissions": ["orders.read", "orders.write"]})
    within = manager.post(ROLES, json={"name": unique("role"), "permissions": ["orders.read"]})

    assert (wider.status_code, error_code(wider)) == (403, "team.beyond_own")
    assert "orders.write" in wider.json()["error"]["message"]
    assert within.status_code == 201


def test_nobody_edits_themselves_into_more_permissions(runtime, shop):
    manager = make_member(runtime, shop, permissions=["team.manage", "orders.read"])
    [own_role] = [
        r
        for r in shop.api.get(ROLES).json()
        if r["id"] and "team.manage" in r["permissions"] and r["members"]
    ]

    to_admin = manager.put(f"{MEMBERS}/{manager.staff_id}/role", json={"role": "admin"})
    widened = manager.put(
        f"{ROLES}/{own_role['id']}",
        json={"name": own_role["name"], "permissions": ["team.manage", "orders.read", "orders.write"]},
    )

    assert [error_code(r) for r in (to_admin, widened)] == ["team.beyond_own", "team.beyond_own"]
    assert permissions(manager) == {"team.manage", "orders.read"}


def test_an_assigned_only_manager_cannot_grant_the_whole_shop(runtime, shop):
    manager = make_member(
        runtime,
        shop,
        permissions=["team.manage", "orders.read"],
        data_scope="assigned",
        sees_unassigned=False,
    )

    everything = manager.post(ROLES, json={"name": unique("role"), "permissions": ["orders.read"]})
    unassigned = manager.post(
        ROLES,
        json={
            "name": unique("role"),
            "permissions": ["orders.read"],
            "data_scope": "assigned",
            "sees_unassigned": True,
        },
    )

    assert [error_code(r) for r in (everything, unassigned)] == ["team.beyond_own", "team.beyond_own"]


def test_a_manager_cannot_touch_a_member_holding_more_than_they_do(runtime, shop):
    manager = make_member(runtime, shop, permissions=["team.manage", "orders.read"])
    admin = make_member(runtime, shop, role="admin")

    r = manager.post(f"{MEMBERS}/{admin.staff_id}/deactivate")

    assert (r.status_code, error_code(r)) == (403, "team.beyond_own")
    assert permissions(admin) >= {"team.manage"}


# --- the last owner ------------------------------------------------------------------------------


def test_the_last_owner_can_be_neither_demoted_nor_deactivated(runtime, shop):
    demoted = shop.api.put(f"{MEMBERS}/{shop.owner_id}/role", json={"role": "admin"})
    closed = shop.api.post(f"{MEMBERS}/{shop.owner_id}/deactivate")

    assert [(r.status_code, error_code(r)) for r in (demoted, closed)] == [(409, "team.last_owner")] * 2
    with runtime.db.read() as session:
        owner = session.get(Staff, shop.owner_id)
        assert (owner.role, owner.active) == ("owner", True)


def test_with_a_second_owner_the_first_can_step_down(runtime, shop):
    second = add_member(shop.api, role="owner")

    stepped_down = shop.api.put(f"{MEMBERS}/{shop.owner_id}/role", json={"role": "admin"})
    last = sign_in(shop.api.app, second["username"]).put(
        f"{MEMBERS}/{second['id']}/role", json={"role": "admin"}
    )

    assert stepped_down.status_code == 200 and stepped_down.json()["role"] == "admin"
    assert (last.status_code, error_code(last)) == (409, "team.last_owner")


def test_a_deactivated_owner_does_not_count_as_an_owner(shop):
    second = add_member(shop.api, role="owner")
    assert shop.api.post(f"{MEMBERS}/{second['id']}/deactivate").status_code == 200

    r = shop.api.put(f"{MEMBERS}/{shop.owner_id}/role", json={"role": "admin"})

    assert (r.status_code, error_code(r)) == (409, "team.last_owner")


# --- taking effect -------------------------------------------------------------------------------


def test_a_new_role_takes_effect_on_the_members_next_request(runtime, shop):
    member = make_member(runtime, shop, role="agent")
    assert "chat.read" in permissions(member)  # now remembered by the caller cache

    r = shop.api.put(f"{MEMBERS}/{member.staff_id}/role", json={"role": "warehouse"})

    assert r.status_code == 200
    assert "chat.read" not in permissions(member) and "inventory.adjust" in permissions(member)
    assert member.get("/api/v1/conversations").status_code == 403
    assert "team.member_role_changed" in acts(runtime, shop.id)


def test_editing_a_custom_role_takes_effect_for_its_members_at_once(runtime, shop):
    member = make_member(runtime, shop, permissions=["orders.read", "chat.read"])
    [role] = [
        r
        for r in shop.api.get(ROLES).json()
        if r["members"] and r["permissions"] == ["chat.read", "orders.read"]
    ]
    assert permissions(member) == {"orders.read", "chat.read"}

    r = shop.api.put(f"{ROLES}/{role['id']}", json={"name": role["name"], "permissions": ["orders.read"]})

    assert r.status_code == 200, r.text
    assert permissions(member) == {"orders.read"}
    assert "team.role_changed" in acts(runtime, shop.id)


def test_a_role_change_is_recorded_for_every_process(runtime, shop):
    member = make_member(runtime, shop, role="agent")

    shop.api.put(f"{MEMBERS}/{member.staff_id}/role", json={"role": "finance"})

    with runtime.db.read() as session:
        changed = [e.data for e in log.since(session, shop.id, 0) if e.type == STAFF_CHANGED_EVENT]
    assert changed == [{"staff_id": member.staff_id}]


def test_the_same_role_again_changes_nothing(runtime, shop):
    member = make_member(runtime, shop, role="agent")

    r = shop.api.put(f"{MEMBERS}/{member.staff_id}/role", json={"role": "agent"})

    assert r.status_code == 200
    assert "team.member_role_changed" not in acts(runtime, shop.id)


def test_deactivation_signs_the_member_out_everywhere_until_reactivated(runtime, app, shop):
    member = make_member(runtime, shop, role="agent")
    browser = sign_in(app, member.username)

    r = shop.api.post(f"{MEMBERS}/{member.staff_id}/deactivate")

    assert r.status_code == 200 and r.json()["active"] is False
    assert member.get("/api/v1/auth/me").status_code == 401  # the API token is revoked
    assert browser.get("/api/v1/auth/me").status_code == 401  # so is the session
    refused = TestClient(app).post(
        "/api/v1/auth/login", json={"username": member.username, "password": MEMBER_PASSWORD}
    )
    assert refused.status_code == 401

    assert shop.api.post(f"{MEMBERS}/{member.staff_id}/reactivate").json()["active"] is True
    assert permissions(sign_in(app, member.username)) >= {"chat.read"}
    assert acts(runtime, shop.id)[-2:] == ["team.member_deactivated", "team.member_reactivated"]


def test_a_password_reset_signs_the_members_sessions_out(runtime, app, shop):
    member = make_member(runtime, shop, role="agent")
    browser = sign_in(app, member.username)

    r = shop.api.put(f"{MEMBERS}/{member.staff_id}/password", json={"password": NEW_PASSWORD})

    assert r.status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert permissions(sign_in(app, member.username, NEW_PASSWORD)) >= {"chat.read"}
    assert "team.member_password_reset" in acts(runtime, shop.id)


def test_a_members_socket_ends_when_their_role_changes(runtime, client, shop):
    member = make_member(runtime, shop, role="agent")
    with staff_socket(client, shop, token=member.token) as ws:
        ws.send_json({"type": "ping"})
        next_event(ws, "pong")

        shop.api.put(f"{MEMBERS}/{member.staff_id}/role", json={"role": "warehouse"})

        # then it is told to come back (1013), to be shown what the new role may see
        with pytest.raises(WebSocketDisconnect) as closed:
            next_event(ws, "never")
    assert closed.value.code == 1013


def test_a_members_socket_ends_when_they_are_deactivated(runtime, client, shop):
    member = make_member(runtime, shop, role="agent")
    with staff_socket(client, shop, token=member.token) as ws, staff_socket(client, shop) as owners:
        ws.send_json({"type": "ping"})
        next_event(ws, "pong")

        shop.api.post(f"{MEMBERS}/{member.staff_id}/deactivate")

        with pytest.raises(WebSocketDisconnect) as closed:
            next_event(ws, "never")
        owners.send_json({"type": "ping"})
        assert next_event(owners, "pong")  # the owner's socket carries on
    assert closed.value.code == 1008


def test_a_role_change_heard_on_the_bus_drops_that_members_callers_only():
    cache = CallerCache()
    from shangliao.auth.actor import Actor

    for staff_id, key in ((7, b"a" * 32), (8, b"b" * 32)):
        actor = Actor(1, staff_id, "agent", frozenset({"chat.read"}), "session")
        cache.put(key, Found(actor, staff_id, None), seen=cache.generation)

    cache.on_event({"type": STAFF_CHANGED_EVENT, "shop_id": 1, "data": {"staff_id": 7}})

    assert cache.get(b"a" * 32) == (False, None)
    assert cache.get(b"b" * 32)[0] is True


# --- roles ---------------------------------------------------------------------------------------


def test_roles_list_the_built_in_ones_with_their_scope(shop):
    roles = {
        r["key"]: r for r in shop.api.get(ROLES, headers={"Accept-Language": "en"}).json() if r["builtin"]
    }

    assert list(roles) == ["owner", "admin", "agent", "warehouse", "finance"]
    assert roles["agent"]["data_scope"] == "assigned" and roles["agent"]["sees_unassigned"] is True
    assert roles["owner"]["members"] == 1 and roles["agent"]["name"] == "Customer service"


def test_a_role_members_hold_cannot_be_deleted(runtime, shop):
    held = custom_role(shop.api, ["orders.read"])
    free = custom_role(shop.api, ["orders.read"])
    add_member(shop.api, role_id=held["id"])

    refused = shop.api.delete(f"{ROLES}/{held['id']}")
    deleted = shop.api.delete(f"{ROLES}/{free['id']}")

    assert (refused.status_code, error_code(refused)) == (409, "team.role_in_use")
    assert refused.json()["error"]["details"] == {"members": 1}
    assert deleted.status_code == 204
    assert [r["id"] for r in shop.api.get(ROLES).json() if r["id"]] == [held["id"]]
    assert "team.role_deleted" in acts(runtime, shop.id)


def test_a_role_name_is_unique_in_the_shop_and_permissions_must_exist(shop, other_shop):
    role = custom_role(shop.api, ["orders.read"])

    again = shop.api.post(ROLES, json={"name": role["name"], "permissions": []})
    elsewhere = other_shop.api.post(ROLES, json={"name": role["name"], "permissions": []})
    unknown = shop.api.post(ROLES, json={"name": unique("role"), "permissions": ["orders.fly"]})

    assert (again.status_code, error_code(again)) == (409, "team.role_name_taken")
    assert elsewhere.status_code == 201
    assert (unknown.status_code, error_code(unknown)) == (422, "auth.unknown_scope")


def test_another_shops_role_cannot_be_given_or_edited(shop, other_shop):
    theirs = custom_role(other_shop.api, ["orders.read"])

    given = shop.api.post(
        MEMBERS, json={"username": unique(), "password": MEMBER_PASSWORD, "role_id": theirs["id"]}
    )
    edited = shop.api.put(f"{ROLES}/{theirs['id']}", json={"name": "x", "permissions": []})

    assert (given.status_code, edited.status_code) == (404, 404)


# --- invitations ---------------------------------------------------------------------------------


def invite(api: TestClient, **fields) -> dict:
    r = api.post(INVITATIONS, json={"role": "agent"} | fields)
    assert r.status_code == 201, r.text
    return r.json()


def accept(anon: TestClient, link: str, username: str | None = None):
    token = link.rsplit("/", 1)[1]
    return anon.post(
        "/api/v1/invitations/accept",
        json={"token": token, "username": username or unique(), "password": MEMBER_PASSWORD},
    )


def test_an_invitation_lets_one_person_join_with_its_role(runtime, app, shop, anon):
    made = invite(shop.api)
    assert [i["id"] for i in shop.api.get(INVITATIONS).json()] == [made["id"]]

    joined = accept(anon, made["url"])
    second = accept(anon, made["url"])

    assert joined.status_code == 201 and joined.json()["role"] == "agent"
    assert (second.status_code, error_code(second)) == (404, "team.invitation_gone")
    assert "chat.write" in permissions(sign_in(app, joined.json()["username"]))
    assert shop.api.get(INVITATIONS).json() == []
    assert acts(runtime, shop.id)[-2:] == ["team.invitation_created", "team.invitation_accepted"]


def test_an_expired_or_revoked_invitation_lets_nobody_in(shop, anon, frozen):
    frozen(clock.now())
    expiring = invite(shop.api, expires_in_days=1)
    revoked = invite(shop.api)
    assert shop.api.delete(f"{INVITATIONS}/{revoked['id']}").status_code == 204

    frozen(clock.now() + timedelta(days=1, seconds=1))

    assert [error_code(accept(anon, i["url"])) for i in (expiring, revoked)] == ["team.invitation_gone"] * 2


def test_the_links_of_a_deactivated_member_stop_working(runtime, shop, anon):
    manager = make_member(runtime, shop, role="admin")
    made = invite(manager)

    shop.api.post(f"{MEMBERS}/{manager.staff_id}/deactivate")

    r = accept(anon, made["url"])
    assert (r.status_code, error_code(r)) == (404, "team.invitation_gone")


def test_an_invitation_cannot_carry_more_than_its_maker_holds(runtime, shop):
    manager = make_member(runtime, shop, permissions=["team.manage", "orders.read"])

    r = manager.post(INVITATIONS, json={"role": "admin"})
    owner = make_member(runtime, shop, role="admin").post(INVITATIONS, json={"role": "owner"})

    assert (r.status_code, error_code(r)) == (403, "team.beyond_own")
    assert (owner.status_code, error_code(owner)) == (403, "team.owner_only")


# --- API tokens ----------------------------------------------------------------------------------


def test_making_and_revoking_an_api_token_is_audited_once(runtime, shop):
    made = shop.api.post("/api/v1/auth/tokens", json={"name": "erp", "scopes": ["orders.read"]}).json()

    shop.api.delete(f"/api/v1/auth/tokens/{made['id']}")
    shop.api.delete(f"/api/v1/auth/tokens/{made['id']}")

    assert [a for a in acts(runtime, shop.id) if a.startswith("auth.token")] == [
        "auth.token_created",
        "auth.token_revoked",
    ]


# --- rule 16: argon2 never holds the single writer ---------------------------------------------------


def test_passwords_are_hashed_before_the_writer_is_taken(runtime, shop, anon, monkeypatch):
    from sqlalchemy import event

    from shangliao.auth import service

    held = {"now": False}
    seen: list[bool] = []
    hash_password = service.hash_password

    def watched(password: str) -> str:
        seen.append(held["now"])
        return hash_password(password)

    def take(_conn) -> None:
        held["now"] = True

    def give(_conn) -> None:
        held["now"] = False

    monkeypatch.setattr(service, "hash_password", watched)
    engine = runtime.db.writer
    for name, fn in (("begin", take), ("commit", give), ("rollback", give)):
        event.listen(engine, name, fn)
    try:
        member = add_member(shop.api, role="agent")
        shop.api.put(f"{MEMBERS}/{member['id']}/password", json={"password": NEW_PASSWORD})
        assert accept(anon, invite(shop.api)["url"]).status_code == 201
    finally:
        for name, fn in (("begin", take), ("commit", give), ("rollback", give)):
            event.remove(engine, name, fn)

    assert seen == [False, False, False]


def test_two_owners_demoting_each_other_at_once_leave_one_owner(runtime, shop):
    import threading

    from shangliao.auth import team
    from shangliao.auth.actor import Actor
    from shangliao.auth.permissions import permissions_for
    from shangliao.core.errors import Conflict

    second = add_member(shop.api, role="owner")

    def owner(staff_id: int) -> Actor:
        return Actor(shop.id, staff_id, "owner", permissions_for("owner"), "session")

    outcome: list[object] = []

    def demote_first() -> None:
        try:
            with runtime.db.write() as session:
                team.do_change_role(session, owner(second["id"]), shop.owner_id, role="admin", role_id=None)
            outcome.append("demoted")
        except Conflict as exc:
            outcome.append(exc.code)

    # given the first owner demoting the second, not yet committed
    with runtime.db.write() as session:
        team.do_change_role(session, owner(shop.owner_id), second["id"], role="admin", role_id=None)
        # when the second demotes the first meanwhile
        racing = threading.Thread(target=demote_first)
        racing.start()
        racing.join(timeout=1)
        assert racing.is_alive()  # it waits for the owners' rows (or the writer)
    racing.join(timeout=30)

    # then it sees it is the last owner now, and the shop keeps one
    assert outcome == ["team.last_owner"]
    owners = [m for m in shop.api.get(MEMBERS).json() if m["role"] == "owner" and m["active"]]
    assert [m["id"] for m in owners] == [shop.owner_id]
