"""A member whose role sees only what is assigned to them (data scope "assigned", optionally with
the unassigned rows) finds everything else missing: 404 by id, absent from lists, counts and
search, and never shown on their socket (live or replayed)."""

from __future__ import annotations

import json

import pytest

from shangliao.auth.permissions import SCOPE_ASSIGNED
from tests.support import sockets
from tests.support.access import PNG
from tests.support.orders import make_order
from tests.support.sockets import next_message, staff_socket
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_order_search import page_plan, sqlite_only

client = sockets.client  # fixture

AGENT_PERMISSIONS = ["orders.read", "orders.write", "chat.read", "chat.write", "customers.read"]


def _member(runtime, shop, *, sees_unassigned: bool):
    return make_member(
        runtime,
        shop,
        permissions=AGENT_PERMISSIONS,
        data_scope=SCOPE_ASSIGNED,
        sees_unassigned=sees_unassigned,
    )


def _assign_order(shop, order_id: int, staff_id: int | None) -> None:
    r = shop.api.put(f"/api/v1/orders/{order_id}/assignee", json={"assignee_id": staff_id})
    assert r.status_code == 200, r.text


def _conversation(client, shop, phone: str) -> int:
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": phone})
    assert r.status_code == 200, r.text
    return r.json()["conversation_id"]


def _assign_conversation(shop, conversation_id: int, staff_id: int | None) -> None:
    r = shop.api.put(f"/api/v1/conversations/{conversation_id}/assignee", json={"assignee_id": staff_id})
    assert r.status_code == 200, r.text


def _member_colleague_and_three_orders(runtime, shop, tee, *, sees_unassigned: bool):
    """A limited member (seeing the unassigned with ``sees_unassigned``), a limited colleague, and
    orders assigned to the member, to the colleague, and to nobody."""
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)
    colleague = _member(runtime, shop, sees_unassigned=False)
    variant = tee.variant_ids[0]
    mine, theirs, nobodys = (make_order(shop, [(variant, 1)]) for _ in range(3))
    _assign_order(shop, mine["id"], member.staff_id)
    _assign_order(shop, theirs["id"], colleague.staff_id)
    return member, colleague, mine, theirs, nobodys


@pytest.fixture
def three_orders(runtime, shop, tee):
    """Orders assigned to the member, to a colleague, and to nobody."""
    return _member_colleague_and_three_orders(runtime, shop, tee, sees_unassigned=False)


@pytest.mark.parametrize("sees_unassigned", [False, True])
def test_orders_out_of_scope_are_missing_by_id_in_lists_counts_and_search(
    runtime, shop, tee, sees_unassigned
):
    # given: a member who sees their own orders (and, with the switch, the unassigned ones)
    member, _, mine, theirs, nobodys = _member_colleague_and_three_orders(
        runtime, shop, tee, sees_unassigned=sees_unassigned
    )
    visible = {mine["id"]} | ({nobodys["id"]} if sees_unassigned else set())

    # when: the member asks for each order, the list, the counts and a search
    by_id = {o["id"]: member.get(f"/api/v1/orders/{o['id']}").status_code for o in (mine, theirs, nobodys)}
    timeline = member.get(f"/api/v1/orders/{theirs['id']}/timeline").status_code
    note = member.post(f"/api/v1/orders/{theirs['id']}/notes", json={"body": "看看"}).status_code
    listed = {o["id"] for o in member.get("/api/v1/orders").json()["items"]}
    counts = member.get("/api/v1/orders/counts").json()
    found = member.get("/api/v1/orders", params={"q": theirs["number"]}).json()["items"]

    # then: only their scope exists for them
    assert by_id == {o["id"]: (200 if o["id"] in visible else 404) for o in (mine, theirs, nobodys)}
    assert timeline == 404 and note == 404
    assert listed == visible
    assert counts["pending"] == len(visible)
    assert found == []


def test_reassigning_away_removes_access_on_the_next_request(runtime, shop, three_orders):
    # given: an order the member can open
    member, colleague, mine, _, _ = three_orders
    assert member.get(f"/api/v1/orders/{mine['id']}").status_code == 200

    # when: the owner gives it to the colleague
    _assign_order(shop, mine["id"], colleague.staff_id)

    # then: the member's next request finds nothing, and the colleague's finds it
    assert member.get(f"/api/v1/orders/{mine['id']}").status_code == 404
    assert colleague.get(f"/api/v1/orders/{mine['id']}").status_code == 200
    assert mine["id"] not in {o["id"] for o in member.get("/api/v1/orders").json()["items"]}


def test_console_pages_of_out_of_scope_orders_and_conversations_are_404(
    app, runtime, shop, client, three_orders
):
    # given: a member signed in to the console, and a conversation assigned to the colleague
    member, colleague, mine, theirs, _ = three_orders
    theirs_chat = _conversation(client, shop, "13700002001")
    _assign_conversation(shop, theirs_chat, colleague.staff_id)
    from fastapi.testclient import TestClient

    console = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = console.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text

    # when / then: their order opens, the colleague's order and conversation do not
    assert console.get(f"/orders/{mine['id']}").status_code == 200
    assert console.get(f"/orders/{theirs['id']}").status_code == 404
    assert console.get(f"/inbox/{theirs_chat}").status_code == 404
    listing = console.get("/orders").text
    assert theirs["number"] not in listing and mine["number"] in listing
    assert console.get("/alerts").json()["orders_pending"] == 1  # the badge counts theirs only


@pytest.mark.parametrize("sees_unassigned", [False, True])
def test_conversations_out_of_scope_are_missing_by_id_and_from_the_inbox(
    runtime, shop, client, sees_unassigned
):
    # given: conversations assigned to the member, to a colleague, and to nobody
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)
    colleague = _member(runtime, shop, sees_unassigned=False)
    mine, theirs, nobodys = (_conversation(client, shop, f"1370000300{i}") for i in range(3))
    _assign_conversation(shop, mine, member.staff_id)
    _assign_conversation(shop, theirs, colleague.staff_id)
    visible = {mine} | ({nobodys} if sees_unassigned else set())

    # when: the member opens each, lists the inbox and writes into the colleague's
    by_id = {c: member.get(f"/api/v1/conversations/{c}").status_code for c in (mine, theirs, nobodys)}
    messages = member.get(f"/api/v1/conversations/{theirs}/messages").status_code
    sent = member.post(f"/api/v1/conversations/{theirs}/messages", json={"body": "你好"}).status_code
    read = member.post(f"/api/v1/conversations/{theirs}/read", json={"seq": 1}).status_code
    inbox = {c["id"] for c in member.get("/api/v1/conversations").json()["items"]}

    # then
    assert by_id == {c: (200 if c in visible else 404) for c in (mine, theirs, nobodys)}
    assert messages == 404 and sent == 404 and read == 404
    assert inbox & {mine, theirs, nobodys} == visible


def test_a_limited_members_socket_is_shown_only_their_rows_live_and_replayed(runtime, shop, client):
    # given: the member's conversation and a colleague's, each with a customer message
    member = _member(runtime, shop, sees_unassigned=False)
    colleague = _member(runtime, shop, sees_unassigned=False)
    mine, theirs = _conversation(client, shop, "13700004001"), _conversation(client, shop, "13700004002")
    _assign_conversation(shop, mine, member.staff_id)
    _assign_conversation(shop, theirs, colleague.staff_id)

    def say(conversation_id: int, body: str) -> None:
        r = shop.api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body})
        assert r.status_code == 201, r.text

    say(theirs, "别人的旧消息")
    say(mine, "我的旧消息")
    with staff_socket(client, shop, token=member.token) as ws:
        # when: the socket replays from the start, then hears two live messages
        say(theirs, "别人的新消息")
        say(mine, "我的新消息")
        heard = []
        while not heard or heard[-1]["message"]["body"] != "我的新消息":
            heard.append(next_message(ws))
        # and: a frame about the colleague's conversation is refused as not found
        ws.send_text(
            json.dumps({"type": "send", "conversation_id": theirs, "body": "插话", "client_id": "c-000001"})
        )
        refused = sockets.next_event(ws, "error")

    # then: only the member's conversation reached them, replayed and live
    assert [m["message"]["body"] for m in heard] == ["我的旧消息", "我的新消息"]
    assert {m["message"]["conversation_id"] for m in heard} == {mine}
    assert refused["code"] == "chat.conversation_not_found"


def test_an_assignment_away_reaches_the_member_it_was_taken_from(runtime, shop, client):
    # given: the member's socket and their conversation
    member = _member(runtime, shop, sees_unassigned=False)
    colleague = _member(runtime, shop, sees_unassigned=False)
    mine = _conversation(client, shop, "13700005001")
    _assign_conversation(shop, mine, member.staff_id)
    with staff_socket(client, shop, token=member.token) as ws:
        # when: the owner gives it to the colleague, then writes in it
        _assign_conversation(shop, mine, colleague.staff_id)
        assigned = sockets.next_event(ws, "event")  # the replay shows its assignment to them first
        while assigned.get("event") != "conversation.assigned" or assigned["assignee_id"] == member.staff_id:
            assigned = sockets.next_event(ws, "event")

    # then: they are told it went (their screen drops it)
    assert assigned["conversation_id"] == mine and assigned["assignee_id"] == colleague.staff_id
    assert assigned["previous_assignee_id"] == member.staff_id


# --- the plan: a limited member's page walks the assignee index, never the shop's orders ----------


@pytest.mark.parametrize("sees_unassigned", [False, True])
def test_a_limited_members_first_page_walks_the_assignee_index(runtime, shop, three_orders, sees_unassigned):
    sqlite_only(runtime)
    # given: a member with each kind of scope
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)

    # when: the database plans their first page
    plan = page_plan(runtime, shop, {}, client=member)

    # then: it reads their rows from ix_orders_shop_assignee in page order (one walk, or one for
    # "mine" and one for "unassigned", each stopped after a page), not the shop's rows
    assert "ix_orders_shop_assignee" in plan, plan
    assert "ix_orders_shop_created" not in plan and "SCAN orders" not in plan, plan
    if not sees_unassigned:
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # no sort of their orders


@pytest.mark.parametrize("sees_unassigned", [False, True])
def test_a_limited_members_tab_walks_their_range_of_that_status(runtime, shop, three_orders, sees_unassigned):
    sqlite_only(runtime)
    # given: a member, and the console's first tab (待确认)
    member = _member(runtime, shop, sees_unassigned=sees_unassigned)

    # when: the database plans the tab's first page
    plan = page_plan(runtime, shop, {"status": ["pending"]}, client=member)

    # then: it walks (shop, assignee, status, created) in page order, not their every order
    # filtered by status (25 rows read per pending order at a million, all when none is pending)
    assert "ix_orders_shop_assignee_status" in plan, plan
    if not sees_unassigned:
        assert "TEMP B-TREE" not in plan, plan


def test_a_colleagues_attachment_and_customer_conversation_are_not_found(runtime, shop, client):
    # given: a photo sent in a colleague's conversation, and the member's own conversation
    member = _member(runtime, shop, sees_unassigned=False)
    colleague = _member(runtime, shop, sees_unassigned=False)
    theirs = _conversation(client, shop, "13700006001")
    _assign_conversation(shop, theirs, colleague.staff_id)
    sent = shop.api.post(
        f"/api/v1/conversations/{theirs}/attachments",
        files={"file": ("a.png", PNG, "application/octet-stream")},
    )
    assert sent.status_code == 201, sent.text
    attachment_id = sent.json()["data"]["attachment_id"]
    customer_id = shop.api.get(f"/api/v1/conversations/{theirs}").json()["customer_id"]

    # when: the member downloads the photo and opens the customer's conversation
    download = member.get(f"/api/v1/attachments/{attachment_id}")
    opened = member.post(f"/api/v1/customers/{customer_id}/conversation")

    # then: both are missing for them, and there for the colleague
    assert download.status_code == 404 and opened.status_code == 404
    assert colleague.get(f"/api/v1/attachments/{attachment_id}").status_code == 200


def test_order_events_reach_a_limited_member_only_for_their_orders(runtime, shop, client, three_orders):
    # given: the member's socket, their order and the colleague's
    member, _, mine, theirs, _ = three_orders
    with staff_socket(client, shop, token=member.token) as ws:
        # when: a note is added to the colleague's order, then to theirs
        for order in (theirs, mine):
            r = shop.api.post(f"/api/v1/orders/{order['id']}/notes", json={"body": "备注"})
            assert r.status_code == 201, r.text
        heard = []
        while (
            not heard
            or heard[-1].get("event") != "order.note_added"
            or heard[-1]["order"]["order_id"] != mine["id"]
        ):
            heard.append(sockets.next_event(ws, "event"))

    # then: every order event they were shown (replayed or live) is of their own order
    assert {e["order"]["order_id"] for e in heard if "order" in e} == {mine["id"]}
