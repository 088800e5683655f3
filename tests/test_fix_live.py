"""Live badges for every staff member, and photos that stay evidence.

- A staff member who may read orders but not chats gets a socket that carries order events and
  nothing of the chat (so the 订单 badge moves live for them); one who may read neither gets none.
- The new-order picker's thumbnails load for whoever may use the picker (orders.write).
- A product card already sent keeps showing the photo it was sent with, after the photo is deleted
  or the product goes off sale, to the shop's staff and the customer's device, and to no one else.
"""

from __future__ import annotations

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.support import sockets
from tests.support.catalog import make_product
from tests.support.chat import guest_client, guest_says, open_conversation, say
from tests.support.orders import make_order
from tests.support.sockets import next_event, staff_socket

client = sockets.client  # fixture


def _token(shop, scopes: list[str]) -> str:
    r = shop.api.post("/api/v1/auth/tokens", json={"name": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _events_until(ws, last_kind: str) -> list[dict]:
    """Every frame the socket sends up to and including the first event of ``last_kind``."""
    frames = []
    for _ in range(50):
        frames.append(json.loads(ws.receive_text()))
        if frames[-1].get("event") == last_kind:
            return frames
    raise AssertionError(f"no {last_kind} event")


def test_staff_who_may_read_orders_but_not_chats_hear_orders_live_and_nothing_of_the_chat(
    runtime, app, client, shop, other_shop
):
    # given a clerk who may read orders but not chats, a conversation, and products in two shops
    clerk = _token(shop, ["orders.read"])
    conversation = open_conversation(runtime, shop, "王小美", "13900002222")
    product = make_product(runtime, shop)
    elsewhere = make_product(runtime, other_shop)
    customer = guest_client(app, shop, "李四", "13700003333")

    with staff_socket(client, shop, token=clerk) as ws:
        # when the shop and a customer write, another shop takes an order, and this shop takes one
        say(shop, conversation, "您的快递单号是 SF123，地址：文三路100号")
        guest_says(shop, customer, "我的手机 13700003333，请尽快发货")
        make_order(other_shop, [(elsewhere.variant_id, 1)])
        order = make_order(shop, [(product.variant_id, 1)])
        live = _events_until(ws, "order.created")
        # and the clerk's socket tries to act on the chat
        ws.send_text(json.dumps({"type": "typing", "conversation_id": conversation["id"]}))
        refused = next_event(ws, "error")

    # then the clerk hears this shop's order, and no message, conversation or typing frame
    events = [f for f in live if f["type"] == "event"]
    assert [e["event"] for e in events] == ["order.created"]
    assert events[0]["order"]["order_id"] == order["id"]
    shown = json.dumps(live, ensure_ascii=False)
    assert "文三路" not in shown and "13700003333" not in shown and "SF123" not in shown
    assert refused["code"] == "auth.forbidden"

    # and a reconnect from the start replays the order, never the messages
    with staff_socket(client, shop, token=clerk) as ws:
        again = make_order(shop, [(product.variant_id, 1)])
        replayed = [f for f in _events_until(ws, "order.created") if f["type"] == "event"]
        while replayed[-1]["order"]["order_id"] != again["id"]:
            replayed += [f for f in _events_until(ws, "order.created") if f["type"] == "event"]
    assert {e["event"] for e in replayed} == {"order.created"}
    assert [e["order"]["order_id"] for e in replayed] == [order["id"], again["id"]]


def test_staff_who_may_read_chats_but_not_orders_hear_messages_and_no_order(runtime, client, shop):
    # given an agent who may read chats but not orders
    agent = _token(shop, ["chat.read", "chat.write"])
    conversation = open_conversation(runtime, shop, "王小美", "13900002222")
    product = make_product(runtime, shop)

    with staff_socket(client, shop, token=agent) as ws:
        # when an order is placed and then a message is sent
        make_order(shop, [(product.variant_id, 1)])
        say(shop, conversation, "在的")
        frames = _events_until(ws, "message.created")

    # then the message comes, the order event does not
    assert [f["event"] for f in frames if f["type"] == "event"] == ["message.created"]


def test_a_staff_socket_for_someone_who_may_read_neither_chats_nor_orders_is_refused(client, shop):
    # given a token that may only read the catalog
    catalog_only = _token(shop, ["catalog.read"])

    # when it opens the staff socket, then it is closed before any frame (1008)
    with pytest.raises(WebSocketDisconnect) as closed, staff_socket(client, shop, token=catalog_only):
        pass
    assert closed.value.code == 1008
