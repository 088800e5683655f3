"""What reaches a member through the chat's side doors: the order page's "made from the customer's
message", the dispute checkpoints, the cards sent into a conversation, and the receiver's name in
a card (issue 12, rule 21 of docs/architecture.md). A member who sees only what is assigned to
them is shown nothing of a colleague's conversation or order this way (404, or nothing), and a
member without customers.pii reads the receiver masked on every page and socket; the customer's
own device keeps what it was shown."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from shangliao.auth.permissions import SCOPE_ASSIGNED
from shangliao.storefront.visitors import VISITOR_COOKIE
from tests.support import sockets
from tests.support.chat import open_conversation
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS, make_order
from tests.support.sockets import guest_socket, next_message, staff_socket
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_chat_attachments import png

client = sockets.client  # fixture

AGENT = ["orders.read", "orders.write", "chat.read", "chat.write", "customers.read"]
RECEIVER, MASKED_RECEIVER = "欧阳娜娜", "欧*"
ASKED = "寄到 王五 13912345678 浙江省杭州市西湖区文三路99号"


def _limited(runtime, shop):
    return make_member(runtime, shop, permissions=AGENT, data_scope=SCOPE_ASSIGNED)


def _assign(shop, what: str, row_id: int, staff_id: int) -> None:
    r = shop.api.put(f"/api/v1/{what}/{row_id}/assignee", json={"assignee_id": staff_id})
    assert r.status_code == 200, r.text


def _console(app, username: str) -> TestClient:
    page = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert page.post("/login", data={"username": username, "password": MEMBER_PASSWORD}).status_code == 303
    return page


def _messages(shop, conversation_id: int) -> list[dict]:
    r = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def split(runtime, shop, client):
    """A customer who chatted: their conversation is the colleague's, one of their orders the
    member's, another the colleague's."""
    member, colleague = _limited(runtime, shop), _limited(runtime, shop)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": "13911112222"})
    assert r.status_code == 200, r.text
    customer_id, conversation_id = r.json()["customer_id"], r.json()["conversation_id"]
    _assign(shop, "conversations", conversation_id, colleague.staff_id)
    return member, colleague, customer_id, conversation_id


# --- the order page's source message ----------------------------------------------------------------


def test_the_order_page_does_not_show_the_source_message_of_a_colleagues_conversation(
    app, console, shop, tee, client, split
):
    # Given an order drafted from the customer's message, the member's, its conversation the colleague's
    member, _, _, conversation_id = split
    assert client.post(f"/s/{shop.slug}/api/messages", json={"body": ASKED}).status_code in (200, 201)
    source = _messages(shop, conversation_id)[-1]["id"]
    r = shop.api.post(
        f"/api/v1/conversations/{conversation_id}/orders",
        json={"items": [{"variant_id": tee.variant_ids[0], "quantity": 1}], "source_message_id": source},
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    _assign(shop, "orders", order_id, member.staff_id)
    # When the member and the owner open the order's page
    theirs = _console(app, member.username).get(f"/orders/{order_id}")
    owners = console.get(f"/orders/{order_id}")
    # Then the owner is shown the message it was made from, the member neither it nor a link to it
    assert owners.status_code == 200 and "文三路99号" in owners.text
    assert theirs.status_code == 200, theirs.text[:300]
    assert "文三路99号" not in theirs.text and "13912345678" not in theirs.text
    assert f"/inbox/{conversation_id}" not in theirs.text


# --- dispute checkpoints ----------------------------------------------------------------------------


def test_a_checkpoint_is_not_sent_into_a_colleagues_conversation(app, shop, tee, split):
    # Given the member's order of a customer whose conversation is the colleague's
    member, _, customer_id, conversation_id = split
    order = make_order(shop, [(tee.variant_ids[0], 1)], customer_id=customer_id)
    _assign(shop, "orders", order["id"], member.staff_id)
    before = len(_messages(shop, conversation_id))
    # When the member sends the order details, by the API and from the order page
    api = member.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    page = _console(app, member.username).post(f"/orders/{order['id']}/checkpoints/details")
    # Then both are not found, and nothing was written into the colleague's conversation
    assert api.status_code == 404 and api.json()["error"]["code"] == "chat.conversation_not_found"
    assert page.status_code == 404
    assert len(_messages(shop, conversation_id)) == before


def test_checkpoints_do_not_name_a_colleagues_conversation_or_its_messages(shop, tee, split):
    # Given the member's order whose details the owner sent into the colleague's conversation
    member, _, customer_id, conversation_id = split
    order = make_order(shop, [(tee.variant_ids[0], 1)], customer_id=customer_id)
    _assign(shop, "orders", order["id"], member.staff_id)
    assert shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 201
    # When the member and the owner read the order's checkpoints
    theirs = member.get(f"/api/v1/orders/{order['id']}/checkpoints").json()["items"]
    owners = shop.api.get(f"/api/v1/orders/{order['id']}/checkpoints").json()["items"]
    # Then both learn the details were sent and when; only the owner where
    assert [c["done"] for c in theirs] == [c["done"] for c in owners] == [True, False, False, False]
    assert theirs[0]["at"] == owners[0]["at"]
    assert owners[0]["conversation_id"] == conversation_id and owners[0]["message_id"] is not None
    assert all(c["conversation_id"] is None and c["message_id"] is None and c["seq"] is None for c in theirs)


def test_a_checkpoint_for_a_customer_who_never_chatted_opens_the_members_conversation(runtime, shop, tee):
    # Given the member's order of a customer without a conversation
    member = _limited(runtime, shop)
    customer_id, _ = make_customer(runtime, shop, name="新客", phone="13955556666")
    order = make_order(shop, [(tee.variant_ids[0], 1)], customer_id=customer_id)
    _assign(shop, "orders", order["id"], member.staff_id)
    # When the member sends the inspection reminder
    r = member.post(f"/api/v1/orders/{order['id']}/checkpoints/inspect")
    # Then it is sent into a conversation opened for them, which they can open
    assert r.status_code == 201, r.text
    conversation_id = r.json()["conversation_id"]
    opened = member.get(f"/api/v1/conversations/{conversation_id}")
    assert opened.status_code == 200 and opened.json()["assignee_id"] == member.staff_id


# --- cards ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["order_card", "payment_request"])
def test_a_card_of_a_colleagues_order_is_not_found(runtime, shop, tee, client, kind):
    # Given the member's conversation, whose customer has an order of the member and one of a colleague
    member, colleague = _limited(runtime, shop), _limited(runtime, shop)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": "13911113333"})
    customer_id, conversation_id = r.json()["customer_id"], r.json()["conversation_id"]
    _assign(shop, "conversations", conversation_id, member.staff_id)
    mine, theirs = (make_order(shop, [(tee.variant_ids[0], 1)], customer_id=customer_id) for _ in range(2))
    _assign(shop, "orders", mine["id"], member.staff_id)
    _assign(shop, "orders", theirs["id"], colleague.staff_id)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    # When the member sends a card of each
    refused = member.post(url, json={"kind": kind, "order_id": theirs["id"]})
    sent = member.post(url, json={"kind": kind, "order_id": mine["id"]})
    # Then the colleague's is not found (like an order that does not exist) and carries nothing of it
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "order.not_found"
    assert theirs["number"] not in refused.text
    assert sent.status_code == 201, sent.text
    assert [m["data"].get("order_id") for m in _messages(shop, conversation_id) if m["kind"] == kind] == [
        mine["id"]
    ]


def test_a_photo_for_a_colleagues_order_is_not_found(runtime, shop, tee, client):
    # Given the member's conversation, whose customer has an order of a colleague
    member, colleague = _limited(runtime, shop), _limited(runtime, shop)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": "13911114444"})
    customer_id, conversation_id = r.json()["customer_id"], r.json()["conversation_id"]
    _assign(shop, "conversations", conversation_id, member.staff_id)
    theirs = make_order(shop, [(tee.variant_ids[0], 1)], customer_id=customer_id)
    _assign(shop, "orders", theirs["id"], colleague.staff_id)
    # When the member sends a photo linked to it (the "product photos" checkpoint)
    r = member.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": ("photo.png", png(), "application/octet-stream")},
        data={"order_id": str(theirs["id"])},
    )
    # Then it is not found, and the conversation holds no photo
    assert r.status_code == 404 and r.json()["error"]["code"] == "order.not_found", r.text
    assert [m for m in _messages(shop, conversation_id) if m["kind"] == "image"] == []


# --- the receiver's name ----------------------------------------------------------------------------


@pytest.fixture
def details_sent(runtime, shop, tee):
    """A conversation whose customer was sent their order's details card (receiver 欧阳娜娜)."""
    conversation = open_conversation(runtime, shop, "顾客", "13700004321")
    order = make_order(
        shop, [(tee.variant_ids[0], 1)], customer_id=conversation["customer_id"],
        address={**ADDRESS, "receiver": RECEIVER},
    )  # fmt: skip
    assert shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 201
    return conversation, order


def _card(messages: list[dict]) -> dict:
    return next(m for m in messages if m["kind"] == "order_card")


def test_a_member_without_the_permission_reads_the_cards_receiver_masked(app, runtime, shop, details_sent):
    # Given an agent (no customers.pii) and the details card sent to the customer
    conversation, order = details_sent
    agent = make_member(runtime, shop, role="agent")
    # When they read the conversation over the API, in the inbox and on the order page
    listed = agent.get(f"/api/v1/conversations/{conversation['id']}/messages")
    console = _console(app, agent.username)
    pages = [console.get(f"/inbox/{conversation['id']}"), console.get(f"/orders/{order['id']}")]
    # Then the card's lines name the receiver masked, and the whole name appears nowhere
    card = _card(listed.json())["data"]
    assert any(MASKED_RECEIVER in line for line in card["shown"])
    assert RECEIVER not in listed.text
    for page in pages:
        assert page.status_code == 200 and RECEIVER not in page.text, page.url
    assert MASKED_RECEIVER in pages[1].text  # the order page's chat panel draws the card's lines
    # And a token with the permission reads it whole (what the customer was shown)
    assert any(RECEIVER in line for line in _card(_messages(shop, conversation["id"]))["data"]["shown"])


def test_staff_sockets_mask_the_receiver_for_a_member_without_the_permission(client, runtime, shop, tee):
    # Given the customer's device on the shop page, and an agent without customers.pii
    agent = make_member(runtime, shop, role="agent")
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "顾客", "phone": "13700005678"})
    device = r.json() | {"cookie": r.cookies[VISITOR_COOKIE]}
    customer_id = r.json()["customer_id"]
    order = make_order(
        shop, [(tee.variant_ids[0], 1)], customer_id=customer_id, address={**ADDRESS, "receiver": RECEIVER}
    )
    # When the details card is sent, and each socket replays the shop's log
    assert shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 201
    with staff_socket(client, shop, token=agent.token) as ws:
        agents = next_message(ws)
    with staff_socket(client, shop) as ws:
        owners = next_message(ws)
    # Then the agent's frame names the receiver masked, the owner's token whole
    assert agents["message"]["data"]["address"]["receiver"] == MASKED_RECEIVER
    assert RECEIVER not in json.dumps(agents, ensure_ascii=False)
    assert any(MASKED_RECEIVER in line for line in agents["message"]["data"]["shown"])
    assert owners["message"]["data"]["address"]["receiver"] == RECEIVER
    assert "masked_message" not in agents and "masked_message" not in owners
    # And the customer's device keeps what it was shown: the name whole, no staff-only keys
    with guest_socket(client, shop, device) as ws:
        seen = next_message(ws, "staff")
    assert seen["message"]["data"]["address"]["receiver"] == RECEIVER
    assert "masked_message" not in seen and "assignee_id" not in seen
