"""A limited member keeps sight of what they make: their new order (API, console form, draft) and
the conversation they open to write first are theirs, so the page they land on opens and their
list shows it. A member who sees the whole shop still leaves new work to round-robin or nobody."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shangliao.auth.permissions import SCOPE_ALL, SCOPE_ASSIGNED
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS
from tests.support.orders import make_order as _make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_console import HTMX

PERMISSIONS = ["orders.read", "orders.write", "chat.read", "chat.write", "customers.read"]
FORM = {
    "receiver": "李雷",
    "phone": "13900001234",
    "province_code": "330000",
    "city_code": "330100",
    "district_code": "330106",
    "detail": "文三路100号",
    "quantity": ["1"],
}


def make_order(who, lines, **fields) -> dict:
    """An order placed by ``who``: the shop's owner (a ShopFixture) or a member's API client."""
    if not hasattr(who, "api"):
        r = who.post(
            "/api/v1/orders",
            json={
                "items": [{"variant_id": v, "quantity": q} for v, q in lines],
                "address": ADDRESS,
                **fields,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()
    return _make_order(who, lines, **fields)


def _member(runtime, shop, *, data_scope=SCOPE_ASSIGNED, sees_unassigned=False):
    return make_member(
        runtime, shop, permissions=PERMISSIONS, data_scope=data_scope, sees_unassigned=sees_unassigned
    )


def _console(app, member) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    return client


@pytest.mark.parametrize("sees_unassigned", [False, True])
@pytest.mark.parametrize("draft", [False, True])
def test_a_limited_members_order_made_through_the_api_is_theirs(runtime, shop, tee, sees_unassigned, draft):
    # given: an assigned-only member (or one who also sees the unassigned)
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)

    # when: they create an order naming nobody
    made = make_order(member, [(tee.variant_ids[0], 1)], draft=draft)

    # then: it is theirs, opens, is listed, and the timeline says they took it
    assert made["assignee_id"] == member.staff_id
    assert member.get(f"/api/v1/orders/{made['id']}").status_code == 200
    listed = member.get("/api/v1/orders", params={"status": "draft"} if draft else {}).json()["items"]
    assert made["id"] in {o["id"] for o in listed}
    timeline = member.get(f"/api/v1/orders/{made['id']}/timeline").json()
    taken = [e for e in timeline if e["kind"] == "assigned"]
    assert [(e["data"]["to"], e["actor_id"]) for e in taken] == [(member.staff_id, member.staff_id)]


def test_a_limited_member_who_names_a_colleague_gives_it_to_them(runtime, shop, tee):
    # given: a limited member allowed to assign, and a colleague
    member = make_member(
        runtime, shop, permissions=[*PERMISSIONS, "orders.assign"], data_scope=SCOPE_ASSIGNED
    )
    colleague = _member(runtime, shop)

    # when: the member names the colleague
    made = make_order(member, [(tee.variant_ids[0], 1)], assignee_id=colleague.staff_id)

    # then: the colleague has it, not the member
    assert made["assignee_id"] == colleague.staff_id
    assert member.get(f"/api/v1/orders/{made['id']}").status_code == 404


def test_a_whole_shop_members_new_order_stays_unassigned(runtime, shop, tee):
    # given: a member whose role sees everything (round-robin off)
    member = _member(runtime, shop, data_scope=SCOPE_ALL)

    # when / then: their new order is nobody's, as before
    assert make_order(member, [(tee.variant_ids[0], 1)])["assignee_id"] is None
    assert make_order(shop, [(tee.variant_ids[0], 1)])["assignee_id"] is None


def test_a_limited_member_lands_on_the_order_they_made_in_the_console(app, runtime, shop, tee):
    # given: an assigned-only member signed in to the console
    member = _member(runtime, shop)
    console = _console(app, member)

    # when: they place an order with the new-order form
    r = console.post("/orders/new", data={**FORM, "variant_id": [str(tee.variant_ids[0])]}, headers=HTMX)
    assert r.status_code == 204, r.text
    target = r.headers["HX-Redirect"]

    # then: the page they are sent to opens, and their list shows the order
    page = console.get(target)
    assert page.status_code == 200, page.text
    number = member.get(f"/api/v1/{target.lstrip('/')}").json()["number"]
    assert number in console.get("/orders").text


@pytest.mark.parametrize("sees_unassigned", [False, True])
def test_a_limited_member_takes_the_new_conversation_they_open(runtime, shop, sees_unassigned):
    # given: a customer nobody has written to, and a limited member
    customer_id, _ = make_customer(runtime, shop, name="韩梅梅", phone="13700007777")
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)

    # when: the member opens the customer's conversation to write first
    r = member.post(f"/api/v1/customers/{customer_id}/conversation")

    # then: it is theirs and stays open to them; the owner sees who has it
    assert r.status_code == 200, r.text
    conversation = r.json()
    assert conversation["assignee_id"] == member.staff_id
    assert member.get(f"/api/v1/conversations/{conversation['id']}").status_code == 200
    sent = member.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"kind": "text", "body": "您好"}
    )
    assert sent.status_code in (200, 201), sent.text
    assert (
        shop.api.get(f"/api/v1/conversations/{conversation['id']}").json()["assignee_id"] == member.staff_id
    )


def test_the_owner_opening_a_conversation_leaves_it_unassigned(runtime, shop):
    customer_id, _ = make_customer(runtime, shop, name="李雷", phone="13700008888")
    r = shop.api.post(f"/api/v1/customers/{customer_id}/conversation")
    assert r.status_code == 200 and r.json()["assignee_id"] is None
