"""Assignment: who may assign whom, in bulk, round-robin among online members, and the record of
each move (issue 12, "Assignment and notifications")."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.assignment import presence
from shangliao.assignment.round_robin import next_after
from shangliao.auth.models import Staff
from shangliao.chat.models import Conversation
from shangliao.core import clock
from shangliao.events.models import EventLogEntry
from tests.support.chat import customer_says, guest_client, guest_says, open_conversation
from tests.support.orders import ADDRESS, make_order
from tests.support.team import MEMBER_PASSWORD, make_member


def online(runtime, shop, *members, minutes_ago: float = 0) -> None:
    """Mark members as seen (by a request or their socket) ``minutes_ago``."""
    with runtime.db.write() as session:
        for m in members:
            presence.do_touch(session, shop.id, m.staff_id, clock.now() - timedelta(minutes=minutes_ago))


def round_robin(shop, target: str, **rule) -> None:
    body = {target: {"mode": "round_robin", **rule}}
    r = shop.api.put("/api/v1/assignment/settings", json=body)
    assert r.status_code == 200, r.text


def timeline(shop, order_id: int) -> list[dict]:
    r = shop.api.get(f"/api/v1/orders/{order_id}/timeline")
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body


# --- who may assign whom -------------------------------------------------------------------------


def test_an_agent_may_claim_an_unassigned_order_but_not_give_it_to_someone_else(runtime, shop, tee):
    # Given an agent (orders.write, no orders.assign), a colleague, and an unassigned order
    agent = make_member(runtime, shop, role="agent")
    colleague = make_member(runtime, shop, role="agent")
    order = make_order(shop, [(tee.variant_id, 1)])

    # When the agent gives it to the colleague, then it is refused for the missing permission
    r = agent.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": colleague.staff_id})
    assert r.status_code == 403, r.text
    assert "orders.assign" in r.json()["error"]["message"]

    # When they claim it for themselves, then it is theirs
    r = agent.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": agent.staff_id})
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] == agent.staff_id

    # And the colleague cannot take it from them (it is no longer unassigned)
    r = colleague.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": colleague.staff_id})
    assert r.status_code in (403, 404), r.text

    # And the agent may release their own
    r = agent.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": None})
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] is None


def test_an_assignee_must_be_an_active_member_whose_role_sees_the_row(runtime, shop, tee):
    # Given an order, a member who cannot read orders, a deactivated agent, another shop's owner
    order = make_order(shop, [(tee.variant_id, 1)])
    no_orders = make_member(runtime, shop, permissions=["chat.read", "chat.write"])
    gone = make_member(runtime, shop, role="agent")
    with runtime.db.write() as session:
        session.get(Staff, gone.staff_id).active = False
    url = f"/api/v1/orders/{order['id']}/assignee"

    # When the owner assigns each, then each is refused with its own reason and nothing changes
    r = shop.api.put(url, json={"assignee_id": no_orders.staff_id})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "assign.assignee_cannot_take")
    r = shop.api.put(url, json={"assignee_id": gone.staff_id})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "assign.assignee_inactive")
    r = shop.api.put(url, json={"assignee_id": 10**12})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "staff.not_found")
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["assignee_id"] is None

    # And a conversation cannot go to a member who cannot read chats (a warehouse packer)
    packer = make_member(runtime, shop, role="warehouse")
    conversation = open_conversation(runtime, shop, "小王", "13900001111")
    r = shop.api.put(
        f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": packer.staff_id}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "assign.assignee_cannot_take")


def test_reassigning_an_order_records_who_gave_it_from_whom_to_whom(runtime, shop, tee):
    # Given an order assigned to one agent
    first, second = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    order = make_order(shop, [(tee.variant_id, 1)], assignee_id=first.staff_id)

    # When the owner gives it to the second
    r = shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": second.staff_id})
    assert r.status_code == 200, r.text

    # Then the timeline keeps the move, by the owner, from the first to the second
    moves = [e for e in timeline(shop, order["id"]) if e["kind"] == "assigned"]
    assert len(moves) == 1
    assert moves[0]["data"] == {"from": first.staff_id, "to": second.staff_id}
    assert moves[0]["actor_id"] == shop.owner_id


def test_reassigning_a_conversation_records_the_move_as_an_event(runtime, shop):
    # Given a conversation assigned to one agent
    first, second = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    conversation = open_conversation(runtime, shop, "小李", "13900002222")
    url = f"/api/v1/conversations/{conversation['id']}/assignee"
    assert shop.api.put(url, json={"assignee_id": first.staff_id}).status_code == 200

    # When the owner gives it to the second
    r = shop.api.put(url, json={"assignee_id": second.staff_id})
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] == second.staff_id

    # Then the conversation's last assignment event says who, from whom, to whom
    with runtime.db.read() as session:
        event = session.scalars(
            select(EventLogEntry)
            .where(EventLogEntry.shop_id == shop.id, EventLogEntry.type == "conversation.assigned")
            .order_by(EventLogEntry.seq.desc())
        ).first()
        found = event.entity_id, event.data
    assert found == (
        conversation["id"],
        {"assignee_id": second.staff_id, "previous_assignee_id": first.staff_id, "by": shop.owner_id},
    )


# --- in bulk -------------------------------------------------------------------------------------


def test_bulk_assigning_orders_changes_each_and_reports_each(runtime, shop, tee):
    # Given three orders, one of them cancelled and archived, and an agent
    agent = make_member(runtime, shop, role="agent")
    orders = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    ids = [o["id"] for o in orders] + [10**12]

    # When the owner assigns them all to the agent
    r = shop.api.post(
        "/api/v1/orders/batch",
        json={"order_ids": ids, "action": "assign", "params": {"assignee_id": agent.staff_id}},
    )
    assert r.status_code == 200, r.text

    # Then the real ones are the agent's, and the unknown one is reported alone
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    for o in orders:
        assert shop.api.get(f"/api/v1/orders/{o['id']}").json()["assignee_id"] == agent.staff_id


def test_bulk_assigning_orders_to_someone_else_needs_orders_assign(runtime, shop, tee):
    # Given an agent and a colleague, and an order
    agent, colleague = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    order = make_order(shop, [(tee.variant_id, 1)])

    # When the agent assigns it to the colleague in a batch, then that order is refused (403)
    body = {"order_ids": [order["id"]], "action": "assign", "params": {"assignee_id": colleague.staff_id}}
    r = agent.post("/api/v1/orders/batch", json=body)
    assert r.status_code == 403, r.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["assignee_id"] is None

    # And claiming it for themselves in a batch works
    body["params"]["assignee_id"] = agent.staff_id
    r = agent.post("/api/v1/orders/batch", json=body)
    assert r.status_code == 200 and r.json()["succeeded"] == 1, r.text


def test_the_batch_preview_names_an_assignee_who_cannot_take_orders(runtime, shop, tee):
    # Given an order and a member whose role cannot read orders
    order = make_order(shop, [(tee.variant_id, 1)])
    chat_only = make_member(runtime, shop, permissions=["chat.read"])

    # When the owner previews assigning it to them
    body = {"order_ids": [order["id"]], "action": "assign", "params": {"assignee_id": chat_only.staff_id}}
    r = shop.api.post("/api/v1/orders/batch/preview", json=body)
    assert r.status_code == 200, r.text

    # Then the preview says it would be skipped, and why
    assert r.json()["will_skip"] == 1
    assert r.json()["results"][0]["error"]["code"] == "assign.assignee_cannot_take"


def test_bulk_assigning_conversations(runtime, shop):
    # Given two conversations and an agent
    agent = make_member(runtime, shop, role="agent")
    conversations = [open_conversation(runtime, shop, f"客户{i}", f"1390000300{i}") for i in range(2)]
    ids = [c["id"] for c in conversations] + [10**12]

    # When the owner gives them all to the agent
    r = shop.api.post(
        "/api/v1/conversations/assign", json={"conversation_ids": ids, "assignee_id": agent.staff_id}
    )
    assert r.status_code == 200, r.text

    # Then both are the agent's and the unknown one is reported as not found
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    assert body["results"][2]["error"]["status"] == 404
    for c in conversations:
        assert shop.api.get(f"/api/v1/conversations/{c['id']}").json()["assignee_id"] == agent.staff_id

    # And an agent cannot hand conversations to someone else in bulk
    r = agent.post(
        "/api/v1/conversations/assign", json={"conversation_ids": ids[:1], "assignee_id": shop.owner_id}
    )
    assert r.status_code == 403, r.text


# --- round-robin ---------------------------------------------------------------------------------


def test_next_after_takes_turns_and_wraps():
    assert next_after([3, 5, 9], None) == 3
    assert next_after([3, 5, 9], 3) == 5
    assert next_after([3, 5, 9], 9) == 3
    assert next_after([3, 5, 9], 4) == 5  # the last one left the turn: the next in line
    assert next_after([], 4) is None


def test_round_robin_gives_new_orders_to_online_members_in_turn(runtime, shop, tee):
    # Given round-robin for orders among agents, two agents online, one agent away, a packer online
    round_robin(shop, "order", roles=["agent"])
    a, b = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    away = make_member(runtime, shop, role="agent")
    packer = make_member(runtime, shop, role="warehouse")
    online(runtime, shop, a, b, packer)
    online(runtime, shop, away, minutes_ago=30)

    # When four orders are placed
    got = [make_order(shop, [(tee.variant_id, 1)])["assignee_id"] for _ in range(4)]

    # Then they alternate between the two online agents, fairly, and nobody else gets one
    assert got == [a.staff_id, b.staff_id, a.staff_id, b.staff_id]


def test_round_robin_skips_members_whose_role_cannot_take_orders(runtime, shop, tee):
    # Given round-robin for orders among everyone, and an online member who cannot read orders
    round_robin(shop, "order")
    chat_only = make_member(runtime, shop, permissions=["chat.read", "chat.write"])
    agent = make_member(runtime, shop, role="agent")
    online(runtime, shop, chat_only, agent)
    with runtime.db.write() as session:  # the owner is away
        presence.do_touch(session, shop.id, shop.owner_id, clock.now() - timedelta(hours=1))

    # When orders are placed, then each goes to the agent only
    assert {make_order(shop, [(tee.variant_id, 1)])["assignee_id"] for _ in range(2)} == {agent.staff_id}


def test_round_robin_leaves_the_order_unassigned_when_nobody_is_online(runtime, shop, tee):
    # Given round-robin on, and the only agent seen an hour ago
    round_robin(shop, "order", roles=["agent"])
    agent = make_member(runtime, shop, role="agent")
    online(runtime, shop, agent, minutes_ago=60)

    # When an order is placed, then nobody has it
    assert make_order(shop, [(tee.variant_id, 1)])["assignee_id"] is None


def test_round_robin_records_the_automatic_assignment_on_the_timeline(runtime, shop, tee):
    # Given round-robin on and one agent online
    round_robin(shop, "order", roles=["agent"])
    agent = make_member(runtime, shop, role="agent")
    online(runtime, shop, agent)

    # When an order is placed, then its timeline says the system gave it to the agent
    order = make_order(shop, [(tee.variant_id, 1)])
    moves = [e for e in timeline(shop, order["id"]) if e["kind"] == "assigned"]
    assert [(m["actor_type"], m["data"]["to"]) for m in moves] == [("system", agent.staff_id)]


def test_a_named_assignee_and_drafts_are_left_alone_by_round_robin(runtime, shop, tee):
    # Given round-robin on with two agents online
    round_robin(shop, "order", roles=["agent"])
    a, b = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    online(runtime, shop, a, b)

    # When an order names its assignee and a draft is saved, then neither takes a turn
    assert make_order(shop, [(tee.variant_id, 1)], assignee_id=b.staff_id)["assignee_id"] == b.staff_id
    draft = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "draft": True}
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["assignee_id"] is None

    # And the next order goes to the first agent in turn
    assert make_order(shop, [(tee.variant_id, 1)])["assignee_id"] == a.staff_id


def test_round_robin_gives_a_new_conversation_on_its_first_customer_message(runtime, shop, app):
    # Given round-robin for conversations among agents, two agents online
    round_robin(shop, "conversation", roles=["agent"])
    a, b = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    online(runtime, shop, a, b)

    # When two customers write from the shop page
    first = guest_client(app, shop, "小赵", "13700005551")
    guest_says(shop, first, "在吗")
    second = guest_client(app, shop, "小钱", "13700005552")
    guest_says(shop, second, "你好")
    guest_says(shop, second, "还有货吗")  # a later message takes no turn

    # Then each conversation went to the next online agent
    with runtime.db.read() as session:
        got = [session.get(Conversation, g.conversation_id).assignee_id for g in (first, second)]
    assert got == [a.staff_id, b.staff_id]


def test_a_conversation_the_shop_opened_takes_no_turn(runtime, shop):
    # Given round-robin for conversations, an agent online
    round_robin(shop, "conversation")
    agent = make_member(runtime, shop, role="agent")
    online(runtime, shop, agent)

    # When the shop opens a conversation and writes first, and the customer answers
    conversation = open_conversation(runtime, shop, "小孙", "13700005553")
    r = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "您好"})
    assert r.status_code == 201, r.text
    customer_says(runtime, shop, conversation, "你好")

    # Then it stays unassigned (the one who opened it is working it)
    assert shop.api.get(f"/api/v1/conversations/{conversation['id']}").json()["assignee_id"] is None


def test_the_setting_needs_settings_manage_and_refuses_other_shops_roles(runtime, shop, other_shop):
    agent = make_member(runtime, shop, role="agent")
    r = agent.put("/api/v1/assignment/settings", json={"order": {"mode": "round_robin"}})
    assert r.status_code == 403, r.text
    stranger = make_member(runtime, other_shop, permissions=["orders.read"])
    with runtime.db.read() as session:
        foreign_role = session.get(Staff, stranger.staff_id).role_id
    r = shop.api.put(
        "/api/v1/assignment/settings", json={"order": {"mode": "round_robin", "role_ids": [foreign_role]}}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "assign.unknown_role")
    assert shop.api.get("/api/v1/assignment/settings").json()["order"]["mode"] == "off"


def test_a_console_request_marks_the_member_online(runtime, shop, app):
    # Given a member nobody has seen
    agent = make_member(runtime, shop, role="agent")
    presence.forget()
    with runtime.db.read() as session:
        assert agent.staff_id not in presence.online_ids(session, shop.id)

    # When they sign in to the console and open a page
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": agent.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    assert client.get("/orders").status_code == 200

    # Then they are online
    with runtime.db.read() as session:
        assert agent.staff_id in presence.online_ids(session, shop.id)


def test_an_open_console_socket_marks_the_member_online(runtime, shop, app):
    # Given a member signed in to the console, not yet seen
    agent = make_member(runtime, shop, role="agent")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        r = client.post("/login", data={"username": agent.username, "password": MEMBER_PASSWORD})
        assert r.status_code == 303, r.text
        with runtime.db.write() as session:  # seen long ago: the sign-in's mark is undone
            presence.do_touch(session, shop.id, agent.staff_id, clock.now() - timedelta(hours=1))
        presence.forget()

        # When their console opens its staff socket
        with client.websocket_connect("/api/v1/ws") as ws:
            ws.send_text('{"type": "ping"}')
            assert json.loads(ws.receive_text())["type"] in ("pong", "ping")

            # Then they are online
            with runtime.db.read() as session:
                assert agent.staff_id in presence.online_ids(session, shop.id)


def test_a_new_order_named_for_someone_follows_the_same_rules(runtime, shop, tee):
    # Given an agent, a colleague and a member who cannot read orders
    agent, colleague = make_member(runtime, shop, role="agent"), make_member(runtime, shop, role="agent")
    chat_only = make_member(runtime, shop, permissions=["chat.read"])
    body = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}

    # When the agent places an order for the colleague, then it needs orders.assign
    r = agent.post("/api/v1/orders", json={**body, "assignee_id": colleague.staff_id})
    assert r.status_code == 403, r.text
    # When they place one for themselves, then it is theirs
    r = agent.post("/api/v1/orders", json={**body, "assignee_id": agent.staff_id})
    assert (r.status_code, r.json()["assignee_id"]) == (201, agent.staff_id)
    # When the owner names someone whose role cannot see orders, then it is refused
    r = shop.api.post("/api/v1/orders", json={**body, "assignee_id": chat_only.staff_id})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "assign.assignee_cannot_take")


def test_a_submitted_draft_takes_its_turn_and_its_assignee_is_told(runtime, shop, tee):
    # Given round-robin on with one agent online, and a draft nobody has
    round_robin(shop, "order", roles=["agent"])
    agent = make_member(runtime, shop, role="agent")
    online(runtime, shop, agent)
    body = {"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS, "draft": True}
    draft = shop.api.post("/api/v1/orders", json=body)
    assert draft.status_code == 201, draft.text

    # When the draft is submitted
    r = shop.api.post(f"/api/v1/orders/{draft.json()['id']}/submit", json={})
    assert r.status_code == 200, r.text

    # Then it is the agent's, the timeline says the system gave it, and the agent is told
    assert r.json()["assignee_id"] == agent.staff_id
    moves = [e for e in timeline(shop, draft.json()["id"]) if e["kind"] == "assigned"]
    assert [(m["actor_type"], m["data"]["to"]) for m in moves] == [("system", agent.staff_id)]
    kinds = {n["kind"] for n in agent.get("/api/v1/notifications").json()["items"]}
    assert kinds == {"order_assigned", "order_new"}
