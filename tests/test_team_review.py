"""Reviewer findings on the team (issue 12): an invitation link follows its maker's grant as it is
now, team ids beyond the database's range are "not found", and a manager cannot touch the tokens
of a member holding more than they do."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.auth.models import Credential
from shangliao.auth.service import digest
from tests.support.orders import make_order
from tests.support.team import make_member
from tests.test_team import INVITATIONS, MEMBERS, ROLES, accept, error_code, invite

TOKENS = "/api/v1/auth/tokens"


def audit_data(runtime, shop_id: int, act: str) -> dict:
    with runtime.db.read() as session:
        return session.scalars(
            select(AuditEntry.data)
            .where(AuditEntry.shop_id == shop_id, AuditEntry.act == act)
            .order_by(AuditEntry.id.desc())
        ).first()


def notifications_of(client: TestClient) -> dict:
    r = client.get("/api/v1/notifications")
    assert r.status_code == 200, r.text
    return r.json()


# --- 1. a link carries no more than its maker holds today -----------------------------------------


def test_a_demoted_admins_admin_link_is_revoked_and_their_agent_link_still_works(runtime, shop, anon):
    # given an admin who made a link for an admin and one for an agent
    admin = make_member(runtime, shop, role="admin")
    for_admin, for_agent = invite(admin, role="admin"), invite(admin, role="agent")

    # when the owner makes them an agent
    r = shop.api.put(f"{MEMBERS}/{admin.staff_id}/role", json={"role": "agent"})

    # then the admin link is gone (revoked, recorded with the change); the agent one still joins
    assert r.status_code == 200, r.text
    gone = accept(anon, for_admin["url"])
    assert (gone.status_code, error_code(gone)) == (404, "team.invitation_gone")
    assert [i["id"] for i in shop.api.get(INVITATIONS).json()] == [for_agent["id"]]
    assert audit_data(runtime, shop.id, "team.member_role_changed")["invitations_revoked"] == [
        for_admin["id"]
    ]
    joined = accept(anon, for_agent["url"])
    assert (joined.status_code, joined.json()["role"]) == (201, "agent")


def test_a_link_is_gone_once_its_role_grants_more_than_its_maker_holds(runtime, shop, anon):
    # given a manager of a custom role who invites to a role within their own
    manager = make_member(runtime, shop, permissions=["team.manage", "orders.read"])
    role = shop.api.post(ROLES, json={"name": "reader", "permissions": ["orders.read"]}).json()
    made = invite(manager, role=None, role_id=role["id"])

    # when the owner widens that role beyond the manager's grant (no change to the manager)
    widened = shop.api.put(
        f"{ROLES}/{role['id']}", json={"name": "reader", "permissions": ["orders.read", "orders.write"]}
    )

    # then opening or accepting the link answers as for an expired one, and nobody joined
    assert widened.status_code == 200, widened.text
    r = accept(anon, made["url"])
    assert (r.status_code, error_code(r)) == (404, "team.invitation_gone")
    page = anon.get(f"/join/{made['url'].rsplit('/', 1)[1]}")
    assert page.status_code == 404
    assert audit_data(runtime, shop.id, "team.invitation_accepted") is None


def test_deactivating_a_member_revokes_their_pending_links(runtime, shop):
    # given an admin with a pending link
    admin = make_member(runtime, shop, role="admin")
    made = invite(admin)

    # when the owner closes their account
    assert shop.api.post(f"{MEMBERS}/{admin.staff_id}/deactivate").status_code == 200

    # then the link is no longer pending, even were the account opened again
    assert shop.api.post(f"{MEMBERS}/{admin.staff_id}/reactivate").status_code == 200
    assert shop.api.get(INVITATIONS).json() == []
    assert audit_data(runtime, shop.id, "team.member_deactivated")["invitations_revoked"] == [made["id"]]


# --- 4. notifications are re-checked when read --------------------------------------------------------


def test_a_token_narrowed_to_the_catalog_is_shown_no_order_notifications(runtime, shop, tee):
    # given an admin told of a new order, and a token of theirs narrowed to the catalog
    admin = make_member(runtime, shop, role="admin")
    order = make_order(shop, [(tee.variant_id, 1)])
    assert [n["target_id"] for n in notifications_of(admin)["items"]] == [order["id"]]
    r = admin.post(TOKENS, json={"name": "catalog sync", "scopes": ["catalog.read"]})
    assert r.status_code == 201, r.text
    narrowed = TestClient(admin.app, headers={"Authorization": f"Bearer {r.json()['token']}"})

    # when the narrowed token reads the notifications
    seen = notifications_of(narrowed)

    # then the order's notification is neither listed nor counted
    assert (seen["items"], seen["unread"]) == ([], 0)


def test_an_order_assigned_away_leaves_a_limited_members_notifications(runtime, shop, tee):
    # given an assigned-only member told of an order assigned to them
    first = make_member(runtime, shop, permissions=["orders.read"], data_scope="assigned")
    second = make_member(runtime, shop, permissions=["orders.read"], data_scope="assigned")
    order = make_order(shop, [(tee.variant_id, 1)])
    assign = f"/api/v1/orders/{order['id']}/assignee"
    assert shop.api.put(assign, json={"assignee_id": first.staff_id}).status_code == 200
    assert notifications_of(first)["unread"] == 1

    # when the owner gives the order to someone else
    assert shop.api.put(assign, json={"assignee_id": second.staff_id}).status_code == 200

    # then it is out of the first member's list and count (the second's shows it)
    seen = notifications_of(first)
    assert (seen["items"], seen["unread"]) == ([], 0)
    assert [n["target_id"] for n in notifications_of(second)["items"]] == [order["id"]]


# --- 5. the invitation link's label; tokens of a member holding more --------------------------------


def test_a_bad_invitation_token_is_named_as_the_invitation_link(anon):
    # given a Chinese reader, when the token of an accepted invitation is too long
    r = anon.post(
        "/api/v1/invitations/accept",
        json={"token": "x" * 129, "username": "someone", "password": "a long password"},
        headers={"Accept-Language": "zh-CN"},
    )

    # then the refusal names the invitation link, not a product link
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "邀请链接" in message and "商品链接" not in message


def test_an_admin_neither_lists_nor_revokes_the_owners_tokens(runtime, shop):
    # given an admin, and a token each of the owner and of an agent
    admin = make_member(runtime, shop, role="admin")
    agent = make_member(runtime, shop, role="agent")
    owners = shop.api.post(TOKENS, json={"name": "owner's erp"}).json()
    agents = agent_token_id(runtime, agent)

    # when the admin lists the tokens and revokes the owner's and the agent's
    listed = {t["id"] for t in admin.get(TOKENS).json()}
    refused = admin.delete(f"{TOKENS}/{owners['id']}")
    allowed = admin.delete(f"{TOKENS}/{agents}")

    # then the owner's token is neither listed nor revoked (404, as for no such token) and still
    # works; the agent's is the admin's to manage
    assert owners["id"] not in listed and agents in listed
    assert (refused.status_code, error_code(refused)) == (404, "token.not_found")
    assert (
        TestClient(shop.api.app, headers={"Authorization": f"Bearer {owners['token']}"})
        .get("/api/v1/auth/me")
        .status_code
        == 200
    )
    assert allowed.status_code == 204
    assert agent.get("/api/v1/auth/me").status_code == 401


def agent_token_id(runtime, member) -> int:
    """The id of the API token a test member calls with."""
    with runtime.db.read() as session:
        return session.scalar(select(Credential.id).where(Credential.token_hash == digest(member.token)))
