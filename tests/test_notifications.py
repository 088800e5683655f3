"""The notification centre: each kind reaches the right members only (permission, data scope,
preferences), new messages coalesce, read and read-all, and live delivery to that member only."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.auth.service import SESSION_COOKIE
from shangliao.notifications.models import Notification
from shangliao.notifications.service import KINDS
from tests.support import sockets
from tests.support.catalog import make_product
from tests.support.chat import customer_says, open_conversation
from tests.support.orders import make_order
from tests.support.sockets import next_event, staff_socket
from tests.support.team import MEMBER_PASSWORD, make_member

client = sockets.client  # fixture

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


def kinds_of(runtime, staff_id: int) -> list[tuple[str, str, int]]:
    """The member's notifications, oldest first: (kind, target type, target id)."""
    with runtime.db.read() as session:
        rows = session.scalars(
            select(Notification).where(Notification.staff_id == staff_id).order_by(Notification.id)
        )
        return [(n.kind, n.target_type, n.target_id) for n in rows]


def listed(member) -> dict:
    r = member.get("/api/v1/notifications")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_new_pending_order_reaches_those_who_may_see_it_only(runtime, shop, tee):
    # Given members: an admin, a packer, an agent who sees unassigned orders, an agent who sees
    # only their own, and one who reads chats only
    admin = make_member(runtime, shop, role="admin")
    packer = make_member(runtime, shop, role="warehouse")
    picker = make_member(runtime, shop, role="agent")  # assigned + unassigned
    own_only = make_member(runtime, shop, permissions=["orders.read"], data_scope="assigned")
    chats = make_member(runtime, shop, permissions=["chat.read"])

    # When an unassigned order is placed
    order = make_order(shop, [(tee.variant_id, 1)])

    # Then those who may see it are told, the others not
    new = ("order_new", "order", order["id"])
    for told in (admin, packer, picker):
        assert kinds_of(runtime, told.staff_id) == [new]
    assert new in kinds_of(runtime, shop.owner_id)
    for untold in (own_only, chats):
        assert kinds_of(runtime, untold.staff_id) == []


def test_a_draft_is_nobodys_news_until_it_is_submitted(runtime, shop, tee):
    admin = make_member(runtime, shop, role="admin")
    r = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "draft": True}
    )
    assert r.status_code == 201, r.text
    assert kinds_of(runtime, admin.staff_id) == []


def test_an_order_assigned_to_a_limited_member_reaches_them_and_not_other_limited_ones(runtime, shop, tee):
    # Given two agents who see only their own orders
    mine = make_member(runtime, shop, permissions=["orders.read", "orders.write"], data_scope="assigned")
    theirs = make_member(runtime, shop, permissions=["orders.read", "orders.write"], data_scope="assigned")

    # When the owner assigns an order to the first
    order = make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": mine.staff_id})
    assert r.status_code == 200, r.text

    # Then the first is told it is theirs; the second hears nothing
    assert kinds_of(runtime, mine.staff_id) == [("order_assigned", "order", order["id"])]
    assert kinds_of(runtime, theirs.staff_id) == []
    assert listed(mine)["items"][0]["data"]["number"] == order["number"]

    # And a payment on it reaches the first (in scope), never the second
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 100})
    assert r.status_code == 201, r.text
    assert ("payment", "order", order["id"]) in kinds_of(runtime, mine.staff_id)
    assert kinds_of(runtime, theirs.staff_id) == []


def test_claiming_for_oneself_tells_nobody(runtime, shop, tee):
    agent = make_member(runtime, shop, role="agent")
    order = make_order(shop, [(tee.variant_id, 1)])
    r = agent.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": agent.staff_id})
    assert r.status_code == 200, r.text
    assert ("order_assigned", "order", order["id"]) not in kinds_of(runtime, agent.staff_id)


def test_a_conversation_assigned_and_its_new_messages_coalesce_while_unread(runtime, shop):
    # Given a conversation given to an agent
    agent = make_member(runtime, shop, role="agent")
    other = make_member(runtime, shop, role="agent")
    conversation = open_conversation(runtime, shop, "小周", "13800007777")
    r = shop.api.put(
        f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": agent.staff_id}
    )
    assert r.status_code == 200, r.text

    # When the customer writes three times
    for text in ("在吗", "这个有货吗", "急"):
        customer_says(runtime, shop, conversation, text)

    # Then the agent has the assignment and ONE new-message notification counting three
    got = listed(agent)["items"]
    assert [(n["kind"], n["count"]) for n in got] == [("message", 3), ("conversation_assigned", 1)]
    assert got[0]["link"] == f"/inbox/{conversation['id']}"
    # and the other agent, and the owner, hear nothing of messages in someone else's conversation
    assert kinds_of(runtime, other.staff_id) == []
    assert not [k for k in kinds_of(runtime, shop.owner_id) if k[0] == "message"]

    # When the agent reads it and the customer writes again, then a new one starts
    assert agent.post(f"/api/v1/notifications/{got[0]['id']}/read").json()["changed"] == 1
    customer_says(runtime, shop, conversation, "还在吗")
    assert [(n["kind"], n["count"], n["read_at"] is None) for n in listed(agent)["items"][:2]] == [
        ("message", 1, True),
        ("message", 3, False),
    ]


def test_the_shops_own_messages_and_unassigned_conversations_tell_nobody(runtime, shop):
    agent = make_member(runtime, shop, role="agent")
    conversation = open_conversation(runtime, shop, "小吴", "13800008888")
    customer_says(runtime, shop, conversation, "你好")  # unassigned: nobody's conversation
    assert (
        shop.api.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "您好"}
        ).status_code
        == 201
    )
    assert kinds_of(runtime, agent.staff_id) == []
    assert not [k for k in kinds_of(runtime, shop.owner_id) if k[0] == "message"]


def test_low_stock_reaches_those_who_see_products_only(runtime, shop):
    # Given a product with a low-stock threshold, a packer, and a member who reads chats only
    product = make_product(runtime, shop, name="帆布包", stock=3, threshold=2)
    packer = make_member(runtime, shop, role="warehouse")
    chats = make_member(runtime, shop, permissions=["chat.read"])

    # When an order takes the stock to the threshold
    make_order(shop, [(product.variant_id, 1)])

    # Then the packer is told about the product; the chat-only member is not
    assert ("low_stock", "product", product.product_id) in kinds_of(runtime, packer.staff_id)
    assert not [k for k in kinds_of(runtime, chats.staff_id) if k[0] == "low_stock"]


def test_followed_statuses_and_muted_kinds(runtime, shop, tee):
    # Given a member following "shipped" who muted new orders, and one who follows nothing
    follower = make_member(runtime, shop, role="admin")
    r = follower.put(
        "/api/v1/notifications/preferences", json={"muted": ["order_new"], "statuses": ["shipped"]}
    )
    assert r.status_code == 200, r.text
    assert follower.get("/api/v1/notifications/preferences").json() == {
        "muted": ["order_new"],
        "statuses": ["shipped"],
    }
    bystander = make_member(runtime, shop, role="admin")

    # When an order is placed, confirmed and shipped
    order = make_order(shop, [(tee.variant_id, 1)])
    assert shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={}).status_code == 200
    assert shop.api.post(f"/api/v1/orders/{order['id']}/ship", json=SHIP).status_code == 200

    # Then the follower hears of the shipment only; the bystander of the new order only
    assert kinds_of(runtime, follower.staff_id) == [("order_status", "order", order["id"])]
    assert listed(follower)["items"][0]["data"]["status"] == "shipped"
    assert kinds_of(runtime, bystander.staff_id) == [("order_new", "order", order["id"])]


def test_preferences_refuse_unknown_kinds_and_statuses(runtime, shop):
    member = make_member(runtime, shop, role="agent")
    assert member.put("/api/v1/notifications/preferences", json={"muted": ["everything"]}).status_code == 422
    assert member.put("/api/v1/notifications/preferences", json={"statuses": ["draft"]}).status_code == 422


def test_read_read_all_and_pages(runtime, shop, tee):
    # Given an admin told of five new orders
    admin = make_member(runtime, shop, role="admin")
    other = make_member(runtime, shop, role="admin")
    for _ in range(5):
        make_order(shop, [(tee.variant_id, 1)])

    # When they read the list two at a time, then it is newest first with no repeats
    first = admin.get("/api/v1/notifications?limit=2").json()
    second = admin.get(f"/api/v1/notifications?limit=2&before={first['next_before']}").json()
    third = admin.get(f"/api/v1/notifications?limit=2&before={second['next_before']}").json()
    ids = [n["id"] for page in (first, second, third) for n in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert third["next_before"] is None and first["unread"] == 5

    # When another member marks one of the admin's read, then it is not found for them
    assert other.post(f"/api/v1/notifications/{ids[0]}/read").status_code == 404
    # When the admin marks one read, then four stay unread
    assert admin.post(f"/api/v1/notifications/{ids[0]}/read").json() == {"changed": 1, "unread": 4}
    assert [n["id"] for n in admin.get("/api/v1/notifications?unread=true").json()["items"]] == ids[1:]
    # When they mark all read, then none is unread, and the other member's are untouched
    assert admin.post("/api/v1/notifications/read-all").json() == {"changed": 4, "unread": 0}
    assert listed(other)["unread"] == 5


def console_socket(client, app, member, after: int = 0):
    """The member's console socket: signed in through the login form (a session; an API token's
    socket is an integration and is not shown notifications), on the test's one event loop."""
    login = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = login.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    cookie = f"{SESSION_COOKIE}={login.cookies[SESSION_COOKIE]}"
    return client.websocket_connect(f"/api/v1/ws?after={after}", headers={"Cookie": cookie})


def first_notification(ws) -> dict:
    for _ in range(50):
        frame = next_event(ws, "event")
        if frame["event"] == "notification.created":
            return frame
    raise AssertionError("no notification")


def test_the_socket_shows_a_notification_to_its_member_only(runtime, shop, app, client):
    # Given two agents with their consoles' sockets open
    agent = make_member(runtime, shop, role="agent")
    other = make_member(runtime, shop, role="agent")
    conversation = open_conversation(runtime, shop, "小郑", "13800009999")
    with console_socket(client, app, agent) as mine, console_socket(client, app, other) as theirs:
        for ws in (mine, theirs):
            ws.send_text(json.dumps({"type": "ping"}))
            next_event(ws, "pong")

        # When the owner gives the conversation to the first, then the second
        url = f"/api/v1/conversations/{conversation['id']}/assignee"
        assert shop.api.put(url, json={"assignee_id": agent.staff_id}).status_code == 200
        assert shop.api.put(url, json={"assignee_id": other.staff_id}).status_code == 200

        # Then each socket's first notification is its own member's
        got = first_notification(mine)
        assert (got["staff_id"], got["kind"], got["target_id"]) == (
            agent.staff_id,
            "conversation_assigned",
            conversation["id"],
        )
        got = first_notification(theirs)
        assert (got["staff_id"], got["kind"]) == (other.staff_id, "conversation_assigned")


def test_an_api_tokens_socket_is_not_shown_notifications(runtime, shop, tee, client):
    # Given the agent's API token socket (an integration, maybe with fewer permissions)
    agent = make_member(runtime, shop, role="admin")
    with staff_socket(client, shop, token=agent.token) as ws:
        # When an order is placed (the admin is told of it) and then another event follows
        order = make_order(shop, [(tee.variant_id, 1)])
        frames = [next_event(ws, "event")]
        while frames[-1].get("event") != "order.created":
            frames.append(next_event(ws, "event"))

    # Then the socket heard the order, and no notification
    assert ("order_new", "order", order["id"]) in kinds_of(runtime, agent.staff_id)
    assert "notification.created" not in [f["event"] for f in frames]


def test_a_member_who_reads_orders_only_gets_their_notifications_replayed(runtime, shop, tee, app, client):
    # Given a packer (orders, no chats) told of a new order while their console was closed
    packer = make_member(runtime, shop, role="warehouse")
    order = make_order(shop, [(tee.variant_id, 1)])

    # When their console's socket opens from the start of the log, then it is replayed to them
    with console_socket(client, app, packer) as ws:
        got = first_notification(ws)
    assert (got["staff_id"], got["kind"], got["target_id"]) == (packer.staff_id, "order_new", order["id"])


# --- the console ---------------------------------------------------------------------------------


def test_the_console_lists_opens_and_reads_all(runtime, shop, tee, console):
    # Given the owner told of two new orders
    orders = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]

    # When the owner opens the console, then the badge's count and the list say two unread
    assert console.get("/alerts").json()["notifications_unread"] == 2
    page = console.get("/notifications")
    assert page.status_code == 200
    assert page.text.count('class="notification unread"') == 2
    assert orders[1]["number"] in page.text

    # When they open the newest, then they are taken to the order and it is read
    with runtime.db.read() as session:
        newest = session.scalars(
            select(Notification.id)
            .where(Notification.staff_id == shop.owner_id)
            .order_by(Notification.id.desc())
        ).first()
    r = console.post(f"/notifications/{newest}/open")
    assert (r.status_code, r.headers["location"]) == (303, f"/orders/{orders[1]['id']}")
    assert console.get("/alerts").json()["notifications_unread"] == 1

    # When they mark all read, then none is unread
    assert console.post("/notifications/read-all").status_code == 303
    assert console.get("/alerts").json()["notifications_unread"] == 0
    assert 'class="notification unread"' not in console.get("/notifications").text


def test_the_console_preferences_form(shop, console):
    # When the owner keeps only "assigned to me" kinds and follows shipped orders
    r = console.post(
        "/notifications/preferences",
        data={"kind": ["order_assigned", "conversation_assigned"], "status": ["shipped"]},
    )
    assert r.status_code == 303, r.text

    # Then the other kinds are muted and shipped is followed
    prefs = shop.api.get("/api/v1/notifications/preferences").json()
    assert prefs["statuses"] == ["shipped"]
    assert set(prefs["muted"]) == set(KINDS) - {"order_assigned", "conversation_assigned"}
    page = console.get("/notifications/preferences").text
    assert 'value="shipped" checked' in page and 'value="order_new" checked' not in page


def test_the_console_auto_assignment_settings(shop, console):
    # When the owner turns round-robin on for conversations among agents
    r = console.post(
        "/settings/assignment",
        data={"order_mode": "off", "conversation_mode": "round_robin", "conversation_role": ["agent"]},
    )
    assert r.status_code == 303, r.text

    # Then the setting holds it, and the page shows it
    got = shop.api.get("/api/v1/assignment/settings").json()
    assert got["conversation"] == {"mode": "round_robin", "roles": ["agent"], "role_ids": []}
    assert got["order"]["mode"] == "off"
    page = console.get("/settings/assignment")
    assert page.status_code == 200 and 'name="conversation_mode" value="round_robin" checked' in page.text


def test_the_team_page_links_to_the_auto_assignment_settings(console):
    page = console.get("/team")
    assert page.status_code == 200 and 'href="/settings/assignment"' in page.text
