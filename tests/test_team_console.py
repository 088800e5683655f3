"""The console's 团队 Team page (web/console/team_pages.py): members, the role matrix, invitation
links and the page a link opens; and the console hiding what a member may not do."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.auth.models import Role, Staff
from shangliao.auth.permissions import PERMISSIONS
from tests.support.orders import act, make_order
from tests.support.team import MEMBER_PASSWORD, make_member


def unique(prefix: str = "m") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def member_console(app, runtime, shop, **role) -> TestClient:
    """A browser signed in as a new member with ``role`` (built-in or a permission list)."""
    member = make_member(runtime, shop, **role)
    browser = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = browser.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    return browser


def staff_named(runtime, username: str) -> dict:
    with runtime.db.read() as session:
        row = session.scalar(select(Staff).where(Staff.username == username))
        return {"display_name": row.display_name, "role": row.role, "active": row.active}


def permissions_of(member: TestClient) -> set[str]:
    return set(member.get("/api/v1/auth/me").json()["permissions"])


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def test_the_team_page_lists_members_with_role_status_and_last_sign_in(console, shop):
    r = console.get("/team", headers={"Accept-Language": "en"})

    assert r.status_code == 200
    assert shop.owner_username in r.text and "店主" in r.text
    assert 'action="/team/members"' in r.text  # the add member form
    assert f'action="/team/members/{shop.owner_id}/deactivate"' in r.text
    assert "/team" in nav_links(r.text)


def test_adding_a_member_from_the_form_makes_the_account(runtime, app, console):
    username = unique()

    r = console.post(
        "/team/members",
        data={"username": username, "display_name": "小王", "password": MEMBER_PASSWORD, "role": "warehouse"},
    )

    assert (r.status_code, r.headers["location"]) == (303, "/team")
    made = staff_named(runtime, username)
    assert made == {"display_name": "小王", "role": "warehouse", "active": True}
    assert username in console.get("/team").text


def test_a_refusal_shows_the_reason_on_the_page(console, shop):
    r = console.post(f"/team/members/{shop.owner_id}/deactivate")

    assert r.status_code == 409
    assert "最后一位店主" in r.text or "last owner" in r.text
    assert 'action="/team/members"' in r.text  # the page, not a bare error


def test_another_shops_member_is_not_found_on_the_page(runtime, console, other_shop):
    stranger = make_member(runtime, other_shop, role="agent")

    r = console.post(f"/team/members/{stranger.staff_id}/password", data={"password": "short"})

    assert r.status_code == 404
    assert permissions_of(stranger)


def test_changing_a_role_and_deactivating_from_the_page(runtime, shop, console):
    member = make_member(runtime, shop, role="agent")

    changed = console.post(f"/team/members/{member.staff_id}/role", data={"role": "finance"})
    closed = console.post(f"/team/members/{member.staff_id}/deactivate")

    assert (changed.status_code, closed.status_code) == (303, 303)
    row = staff_named(runtime, member.username)
    assert (row["role"], row["active"]) == ("finance", False)
    assert member.get("/api/v1/auth/me").status_code == 401


def test_the_role_matrix_shows_every_permission_and_edits_a_custom_role(runtime, shop, console):
    made = console.post(
        "/team/roles",
        data={
            "name": "打包员",
            "permissions": ["orders.read", "orders.fulfil"],
            "data_scope": "assigned",
            "sees_unassigned": "on",
        },
    )
    assert made.status_code == 303
    with runtime.db.read() as session:
        role = session.scalar(select(Role).where(Role.shop_id == shop.id, Role.name == "打包员"))
        assert (sorted(role.permissions), role.data_scope, role.sees_unassigned) == (
            ["orders.fulfil", "orders.read"],
            "assigned",
            True,
        )
        role_id = role.id

    page = console.get("/team/roles").text
    for code in PERMISSIONS:
        assert f'data-permission="{code}"' in page
    assert f'form="role-{role_id}" name="permissions" value="orders.read" checked' in page
    assert "查看订单" in page  # permission labels in the reader's language

    edited = console.post(
        f"/team/roles/{role_id}", data={"name": "打包员", "permissions": ["orders.read"], "data_scope": "all"}
    )
    assert edited.status_code == 303
    with runtime.db.read() as session:
        again = session.get(Role, role_id)
        assert (again.permissions, again.data_scope, again.sees_unassigned) == (["orders.read"], "all", False)

    assert console.post(f"/team/roles/{role_id}/delete").status_code == 303
    assert "打包员" not in console.get("/team/roles").text


def test_an_invitation_link_is_shown_once_and_lets_the_invitee_join(runtime, app, console):
    r = console.post("/team/invitations", data={"role": "agent", "days": "7"})
    assert r.status_code == 200
    link = re.search(r'id="invitation-link"[^>]*value="([^"]+)"', r.text).group(1)
    path = "/join/" + link.rsplit("/join/", 1)[1]
    assert link not in console.get("/team/invitations").text  # not shown again

    invitee = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    page = invitee.get(path)
    username = unique()
    joined = invitee.post(
        path, data={"username": username, "display_name": "新同事", "password": MEMBER_PASSWORD}
    )

    assert page.status_code == 200 and "客服" in page.text
    assert joined.status_code == 303  # signed in straight away
    assert invitee.get("/api/v1/auth/me").json()["staff"]["username"] == username
    assert staff_named(runtime, username)["role"] == "agent"
    assert invitee.get(path).status_code == 404  # used up


def test_a_bad_password_on_the_join_page_keeps_the_link_usable(app, console):
    r = console.post("/team/invitations", data={"role": "agent", "days": "1"})
    path = "/join/" + re.search(r'value="[^"]*/join/([^"]+)"', r.text).group(1)
    invitee = TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    weak = invitee.post(path, data={"username": unique(), "password": "short"})

    assert weak.status_code == 422 and "join-form" in weak.text
    assert invitee.get(path).status_code == 200


# --- hiding what a member may not do ------------------------------------------------------------------


def test_an_agent_sees_no_team_link_and_the_team_page_is_refused(runtime, app, shop):
    agent = member_console(app, runtime, shop, role="agent")

    page = agent.get("/orders")
    refused = agent.get("/team")

    assert "/team" not in nav_links(page.text)
    assert {"/orders", "/products", "/customers", "/inbox"} <= set(nav_links(page.text))
    assert refused.status_code == 403


def test_a_member_without_products_or_customers_does_not_see_their_links(runtime, app, shop):
    packer = member_console(app, runtime, shop, permissions=["orders.read", "orders.fulfil"])

    links = nav_links(packer.get("/orders").text)

    assert "/orders" in links
    assert not {"/products", "/customers", "/inbox", "/team"} & set(links)


def test_order_pages_show_a_packer_only_the_controls_their_role_may_use(runtime, app, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    act(shop, order, "confirm")
    packer = member_console(app, runtime, shop, permissions=["orders.read", "orders.fulfil"])

    detail = packer.get(f"/orders/{order['id']}").text
    listing = packer.get("/orders").text

    # then they may prepare the order, and see nothing of edits, notes, tags, cancel or archive
    assert f'action="/orders/{order["id"]}/do/prepare"' in detail
    for hidden in ("/notes", "/tags", "/archive-now", 'data-open="address-dialog"', 'id="cancel-dialog"'):
        assert hidden not in detail, hidden
    assert 'href="/orders/new"' not in listing
    offered = re.findall(
        r'<option value="([a-z]+)">', listing.split("data-bulk-action>", 1)[1].split("</select>", 1)[0]
    )
    assert offered == ["confirm", "prepare", "print"]  # printing packing slips is a packer's job too


def test_order_pages_show_an_agent_edits_but_not_fulfilment(runtime, app, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    agent = member_console(app, runtime, shop, role="agent")

    detail = agent.get(f"/orders/{order['id']}").text

    assert f'action="/orders/{order["id"]}/notes"' in detail and 'data-open="address-dialog"' in detail
    assert f'action="/orders/{order["id"]}/do/confirm"' not in detail  # confirming is fulfilment
    assert 'href="/orders/new"' in agent.get("/orders").text


def test_an_admin_is_not_offered_to_change_an_owner(runtime, app, shop):
    admin = member_console(app, runtime, shop, role="admin")

    page = admin.get("/team").text

    assert f'action="/team/members/{shop.owner_id}/role"' not in page
    assert 'value="owner"' not in page  # nor the owner role in the pickers
    assert 'action="/team/members"' in page
